"""`slamon replay | generate | policy check`: the commands that need no Kafka."""

from __future__ import annotations

import sys
from typing import IO, Any

import click
import orjson

from slamon.adapters.jsonl import write_jsonl
from slamon.cli.options import POLICY, load_policy
from slamon.core.durations import format_duration
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import parse_rfc3339
from slamon.replay import ReplayResult, replay
from slamon.summary import render_summary

MAX_INVALID_SHOWN = 20

OUTPUT_FILE = click.File("wb", lazy=False)  # created even when nothing is written to it


def _parse_until(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("replay")
@click.argument("events", type=click.File("rb"))
@POLICY
@click.option(
    "--until", callback=_parse_until, help="Evaluation time, RFC 3339 (default: last event)."
)
@click.option("--alerts", "alerts_path", type=OUTPUT_FILE, help="Write alerts as JSONL.")
@click.option(
    "--outcomes",
    "outcomes_path",
    type=OUTPUT_FILE,
    help="Write outcomes as JSONL.",
)
@click.option("--report", "report_path", type=OUTPUT_FILE, help="Write the report as JSON.")
@click.option(
    "--invalid",
    "invalid_path",
    type=OUTPUT_FILE,
    help="Write invalid lines as JSONL.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Show progress (default: on a terminal)."
)
def replay_command(
    events: IO[bytes],
    policy_path: str | None,
    until: int | None,
    alerts_path: IO[bytes] | None,
    outcomes_path: IO[bytes] | None,
    report_path: IO[bytes] | None,
    invalid_path: IO[bytes] | None,
    progress: bool | None,
) -> None:
    """Replay a JSONL event log (or - for stdin) and report SLA outcomes."""
    policy = load_policy(policy_path)
    show_progress = sys.stderr.isatty() if progress is None else progress

    def on_progress(lines: int) -> None:
        click.echo(f"\r  read {lines:,} lines", err=True, nl=False)

    result = replay(events, policy, until=until, progress=on_progress if show_progress else None)
    if show_progress:
        click.echo("", err=True)
    _report_invalid(result)
    if alerts_path is not None:
        write_jsonl(alerts_path, (a.to_dict() for a in result.alerts))
    if outcomes_path is not None:
        write_jsonl(outcomes_path, (o.to_dict() for o in result.outcomes))
    if invalid_path is not None:
        write_jsonl(invalid_path, ({"line": n, "reason": r} for n, r in result.invalid))
    if report_path is not None:
        report_path.write(orjson.dumps(result.report(), option=orjson.OPT_INDENT_2) + b"\n")
    if not (alerts_path or outcomes_path or report_path):
        click.echo(render_summary(result.report(), policy_name=policy.name))


def _report_invalid(result: ReplayResult) -> None:
    for lineno, reason in result.invalid[:MAX_INVALID_SHOWN]:
        click.echo(f"invalid line {lineno}: {reason}", err=True)
    hidden = len(result.invalid) - MAX_INVALID_SHOWN
    if hidden > 0:
        click.echo(f"... and {hidden} more invalid lines (see --invalid FILE)", err=True)


@click.command("generate")
@POLICY
@click.option("--tickets", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--start", default="2026-11-02T00:00:00Z", show_default=True, help="First ticket time."
)
@click.option("--per-hour", type=click.FloatRange(min=0.01), default=120.0, show_default=True)
@click.option("--messy", is_flag=True, help="Add duplicates, late events and invalid lines.")
@click.option(
    "-o", "--output", type=click.File("wb"), default="-", help="Output JSONL (default stdout)."
)
def generate_command(
    policy_path: str | None,
    tickets: int,
    seed: int,
    start: str,
    per_hour: float,
    messy: bool,
    output: IO[bytes],
) -> None:
    """Generate a realistic ticket event log (JSONL) around the policy's targets."""
    from slamon.simulate import generate_log  # noqa: PLC0415

    policy = load_policy(policy_path)
    for record in generate_log(
        policy, tickets, seed=seed, start=start, per_hour=per_hour, messy=messy
    ):
        if isinstance(record, str):
            output.write(record.encode() + b"\n")
        else:
            output.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


@click.group("policy")
def policy_group() -> None:
    """Inspect SLA policies."""


@policy_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def policy_check(path: str) -> None:
    """Validate a policy file and print its targets."""
    policy = load_policy(path)
    click.echo(f"policy {policy.name!r} is valid")
    click.echo(render_policy(policy))


def render_policy(policy: SlaPolicy) -> str:
    """The policy's targets as a table: one row per priority, one column per SLA."""
    rows = [f"{'':4} {'calendar':10} " + " ".join(f"{s:>16}" for s in SLAS)]
    for priority in PRIORITIES:
        targets = " ".join(f"{format_duration(policy.target_ns(priority, s)):>16}" for s in SLAS)
        rows.append(f"{priority:4} {policy.calendar(priority).name:10} {targets}")
    extra: dict[str, Any] = {"warn_at": float(policy.warn_at), "pause": sorted(policy.pause)}
    rows.append(" ".join(f"{k}={v}" for k, v in extra.items()))
    return "\n".join(rows)
