"""`slamon replay | generate | policy check`: the commands that need no Kafka."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import IO, Any

import click
import orjson

from slamon.adapters.jsonl import write_jsonl
from slamon.cli.options import (
    BY,
    EVENTS_FILE,
    POLICY,
    TIME_FORMAT,
    Command,
    CommandGroup,
    checked_time,
    count_text,
    load_policy,
    report_invalid,
    source_name,
    until_option,
)
from slamon.cli.process_exit import keep
from slamon.cli.whatif import BASELINE, render_what_if, what_if_report
from slamon.core.durations import format_duration
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.replay import ReplayResult, replay
from slamon.summary import render_summary

OUTPUT_FILE = click.File("wb", lazy=False)  # created even when nothing is written to it


def _output_option(name: str, what: str) -> Callable[[Command], Command]:
    """--<name> FILENAME, given to the command as ``<name>_path``."""
    return click.option(f"--{name}", f"{name}_path", type=OUTPUT_FILE, help=f"Write {what}.")


def _valid_start(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    checked_time(value)
    return value  # generate_log takes the text


@click.command("replay")
@EVENTS_FILE
@POLICY
@until_option("the last event's time")
@_output_option("alerts", "alerts as JSONL")
@_output_option("outcomes", "outcomes as JSONL")
@_output_option("report", "the report as JSON")
@_output_option("invalid", "invalid lines as JSONL")
@click.option(
    "--progress/--no-progress", default=None, help="Show progress (default: on a terminal)."
)
@BY
@BASELINE
def replay_command(
    events: IO[bytes],
    policy_path: str | None,
    until: int | None,
    alerts_path: IO[bytes] | None,
    outcomes_path: IO[bytes] | None,
    report_path: IO[bytes] | None,
    invalid_path: IO[bytes] | None,
    progress: bool | None,
    by: tuple[str, ...],
    baseline_path: str | None,
) -> None:
    """Replay a JSONL event log (or - for stdin) and report SLA outcomes.

    The summary goes to stdout, with output files too (not when one of them is -);
    invalid lines are listed on stderr as FILE:LINE: invalid event: reason.
    """
    policy = load_policy(policy_path)
    show_progress = sys.stderr.isatty() if progress is None else progress

    def on_progress(lines: int) -> None:
        click.echo(f"\r  read {lines:,} lines", err=True, nl=False)

    result = replay(
        events, policy, until=until, progress=on_progress if show_progress else None, by=by
    )
    keep(result)  # freed by the process's exit, not object by object
    if show_progress:
        click.echo("", err=True)
    source = source_name(events)
    report_invalid(source, result.invalid, " (all of them: --invalid FILE)")
    report = result.report()
    if baseline_path is not None:
        report["what_if"] = what_if_report(events, baseline_path, policy, result)
    _write_outputs(result, report, alerts_path, outcomes_path, invalid_path, report_path)
    if result.processed == 0:
        click.echo(f"{source}: no events to replay{_no_events_why(result)}", err=True)
    elif not any(_is_stdout(f) for f in (alerts_path, outcomes_path, invalid_path, report_path)):
        click.echo(render_summary(report, policy_name=policy.name))
        if "what_if" in report:
            click.echo("\n" + render_what_if(report["what_if"]))


def _write_outputs(
    result: ReplayResult, report: dict[str, Any], alerts_path: IO[bytes] | None,
    outcomes_path: IO[bytes] | None, invalid_path: IO[bytes] | None,
    report_path: IO[bytes] | None,
) -> None:  # fmt: skip
    """The output files asked for, then what went where on stderr."""
    written = []
    if alerts_path is not None:
        count = write_jsonl(alerts_path, (a.to_dict() for a in result.alerts))
        written.append(f"{count} alerts to {_name(alerts_path)}")
    if outcomes_path is not None:
        count = write_jsonl(outcomes_path, (o.to_dict() for o in result.outcomes))
        written.append(f"{count} outcomes to {_name(outcomes_path)}")
    if invalid_path is not None:
        invalid = ({"line": n, "reason": r} for n, r in result.invalid)
        count = write_jsonl(invalid_path, invalid)
        written.append(f"{count_text(count, 'invalid line')} to {_name(invalid_path)}")
    if report_path is not None:
        report_path.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
        written.append(f"the report to {_name(report_path)}")
    if written:
        click.echo(f"wrote {', '.join(written)}", err=True)


def _no_events_why(result: ReplayResult) -> str:
    if result.invalid:
        return f" ({count_text(len(result.invalid), 'invalid line')}, no valid one)"
    return " (the input is empty)"


def _is_stdout(output: IO[bytes] | None) -> bool:
    """Whether an output option was given ``-``: the summary would be mixed into it."""
    return output is not None and _name(output) == "<stdout>"


def _name(output: IO[bytes]) -> str:
    return str(getattr(output, "name", "<stdout>"))  # a stream without a name: not a file


@click.command("generate")
@POLICY
@click.option(
    "--tickets",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Tickets to generate.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed: same seed, same log."
)
@click.option(
    "--start",
    metavar="TIME",
    default="2026-11-02T00:00:00Z",
    show_default=True,
    callback=_valid_start,
    help=f"Creation time of the first ticket, {TIME_FORMAT}.",
)
@click.option(
    "--per-hour",
    type=click.FloatRange(min=0.01),
    default=120.0,
    show_default=True,
    help="New tickets an hour, on average.",
)
@click.option("--messy", is_flag=True, help="Add duplicates, late events and invalid lines.")
@click.option(
    "-o", "--output", type=click.File("wb"), default="-", help="Output JSONL (default: stdout)."
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


@click.group("policy", cls=CommandGroup)
def policy_group() -> None:
    """Inspect SLA policies."""


@policy_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--events", "events", type=click.File("rb"),
              help="A JSONL event log: list which terms each of its tickets matches.")  # fmt: skip
def policy_check(path: str, events: IO[bytes] | None) -> None:
    """Validate a policy file and print its targets as written."""
    from slamon.adapters.policy_yaml import written_targets  # noqa: PLC0415
    from slamon.cli.terms import render_calendars, render_matches, render_terms  # noqa: PLC0415

    policy = load_policy(path)
    click.echo(f"policy {policy.name!r} is valid")
    click.echo(render_policy(policy, written_targets(path)))
    for line in [*render_calendars(policy), *render_terms(policy)]:
        click.echo(line)
    if events is not None:
        result = replay(events, policy)
        keep(result)
        for line in render_matches(policy, result.folds.items()):
            click.echo(line)


def _percent(value: Fraction) -> str:
    """An objective as people write it: 99%, 99.9%."""
    return f"{float(value) * 100:g}%"


def render_policy(policy: SlaPolicy, written: Mapping[tuple[str, str], str] | None = None) -> str:
    """The policy's targets as a table: one row per priority, one column per SLA.

    ``written``: the targets' text in the file, shown as is: the normal form of ``24h`` is
    ``1d``, which on an 8-hour office calendar is misread as one working day, not three.
    """
    rows = [f"{'':4} {'calendar':10} " + " ".join(f"{s:>16}" for s in SLAS)]
    for priority in PRIORITIES:
        texts = [
            written[priority, s] if written else format_duration(policy.target_ns(priority, s))
            for s in SLAS
        ]
        targets = " ".join(f"{text:>16}" for text in texts)
        rows.append(f"{priority:4} {policy.calendar(priority).name:10} {targets}")
        objectives = " ".join(f"{_percent(policy.objective(priority, s)):>16}" for s in SLAS)
        rows.append(f"{'':4} {'objective':10} {objectives}")
    extra: dict[str, Any] = {"warn_at": float(policy.warn_at), "pause": sorted(policy.pause)}
    rows.append(" ".join(f"{k}={v}" for k, v in extra.items()))
    return "\n".join(rows)
