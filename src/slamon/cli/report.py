"""`slamon report --html`: the monthly-review report as one self-contained HTML file."""

from __future__ import annotations

from typing import IO

import click

from slamon.cli.options import (
    BY,
    EVENTS_FILE,
    POLICY,
    load_policy,
    report_invalid,
    source_name,
    until_option,
)
from slamon.cli.process_exit import keep


@click.command("report")
@EVENTS_FILE
@POLICY
@until_option("the last event's time")
@click.option(
    "--html",
    "html_path",
    type=click.File("w", encoding="utf-8", lazy=True),
    required=True,
    help="Write the report here: one HTML file that opens without a network.",
)
@BY
def report_command(
    events: IO[bytes],
    policy_path: str | None,
    until: int | None,
    html_path: IO[str],
    by: tuple[str, ...],
) -> None:
    """Replay a JSONL event log and write the review report: compliance per day, response
    and arrival times against the target, SLAs, quality against the standard, breakdowns
    (--by) and the top breached tickets."""
    from slamon.htmlreport import render_html  # noqa: PLC0415  (keeps --help fast)
    from slamon.replay import replay  # noqa: PLC0415

    policy = load_policy(policy_path)
    result = replay(events, policy, until=until, by=by)
    keep(result)  # freed by the process's exit, not object by object
    source = source_name(events)
    report_invalid(source, result.invalid)
    if result.processed == 0:
        raise click.ClickException(f"{source}: no events to report on")
    html_path.write(render_html(result, policy, by, source=source.rsplit("/", 1)[-1]))
    click.echo(f"wrote the report to {getattr(html_path, 'name', '<stdout>')}", err=True)
