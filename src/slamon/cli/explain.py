"""`slamon explain`: one ticket's SLA timeline, and the rule that decided each status.

The core (:mod:`slamon.core.explain`) decides and words every rule; this module reads
the log and lays the values out as text or JSON.
"""

from __future__ import annotations

from typing import IO

import click
import orjson

from slamon.adapters.jsonl import read_events
from slamon.cli.options import EVENTS_FILE, POLICY, load_policy, source_name, until_option
from slamon.core.durations import format_duration
from slamon.core.explain import Timeline, explain, ticket_events

STATE_NAMES = {"running": "running", "paused": "paused",
               "outside_business_hours": "outside business hours"}  # fmt: skip


@click.command("explain")
@EVENTS_FILE
@click.argument("ticket_id")
@POLICY
@until_option("the log's last event time")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def explain_command(
    events: IO[bytes], ticket_id: str, policy_path: str | None, until: int | None, as_json: bool
) -> None:
    """Explain one ticket of a JSONL event log: its events, each clock's running, paused
    and outside-business-hours spans, elapsed vs target, at-risk and breach instants, its
    alerts and the rule behind each status. Only this ticket's data is shown."""
    policy = load_policy(policy_path)
    found, latest = ticket_events(read_events(events), policy, ticket_id)
    timeline = explain(found, policy, until if until is not None else latest)
    timeline.ticket_id = ticket_id
    if as_json:
        click.echo(orjson.dumps(timeline.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_timeline(timeline))
    if not timeline.found:
        raise click.ClickException(
            f"{source_name(events)}: no ticket {ticket_id!r} created at or before until"
        )


def render_timeline(timeline: Timeline) -> str:
    """The timeline as text: times in the ticket's time zone."""
    local = timeline.local
    lines = [f"ticket {timeline.ticket_id}  until {local(timeline.until)}"]
    if timeline.found:
        lines.append(
            f"priority {timeline.priority}  calendar {timeline.calendar} ({timeline.timezone})"
        )
    lines += ["", "events"]
    lines += [f"  {local(e.time)}  {e.type:24} {e.effect}" for e in timeline.events]
    for clock in timeline.clocks:
        lines += ["", f"{clock.sla}: {clock.status}"]
        lines.append(
            f"  elapsed {format_duration(clock.elapsed_ns)} of target "
            f"{format_duration(clock.target_ns)}   at risk {local(clock.at_risk_at)}   "
            f"breach {local(clock.breach_at)}   deadline {local(clock.deadline)}"
        )
        lines.append(f"  rule: {clock.rule}")
        for span in clock.spans:
            lines.append(f"    {local(span.start)} .. {local(span.end)}  "
                         f"{STATE_NAMES[span.state]}")  # fmt: skip
        if clock.spans_cut:
            lines.append("    ... (more spans: see --json)")
    if timeline.notes:
        lines += ["", "rules"] + [f"  {note}" for note in timeline.notes]
    lines += ["", "alerts" if timeline.alerts else "alerts: none"]
    lines += [f"  {local(a.at)}  {a.type:20} {a.sla:15} {a.id}" for a in timeline.alerts]
    return "\n".join(lines)
