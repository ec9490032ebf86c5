"""`slamon explain`: one ticket's timeline, exact against replay, and its rule texts.

Policies: ``small_policy`` (24x7; P1 first response 10m, P3 1h) and ``calendar_policy``
(P3 on Shanghai office hours Mon-Fri 09-12, 13-18; first response 2h there).
"""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from slamon.adapters.jsonl import read_events
from slamon.cli import main
from slamon.core.explain import Timeline, explain, ticket_events
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import parse_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.testing import EventLog, at, small_policy
from tests.helpers import calendar_policy

EXAMPLE = Path(__file__).parent.parent / "examples" / "tickets.jsonl"
POLICY = small_policy()


def timeline_of(log: EventLog, ticket: str, policy: SlaPolicy = POLICY,
                until: int | None = None) -> Timeline:  # fmt: skip
    events, latest = ticket_events(read_events(log.lines()), policy, ticket)
    return explain(events, policy, until if until is not None else latest)


def test_statuses_and_alerts_are_the_replays_on_the_example_log() -> None:
    """For every ticket of the bundled log: explain's statuses, elapsed times and alerts
    (ids included) are exactly those of a replay of the whole log."""
    policy = load_policy_or_default(None)
    lines = EXAMPLE.read_bytes().splitlines()
    result = replay(lines, policy)
    tickets = sorted({o.ticket_id for o in result.outcomes})
    assert len(tickets) > 250
    decoded = list(read_events(lines))
    for ticket in tickets:
        events, latest = ticket_events(decoded, policy, ticket)
        timeline = explain(events, policy, latest)
        assert timeline.found
        assert [a for a in result.alerts if a.ticket_id == ticket] == timeline.alerts
        outcomes = [(o.sla, o.status, o.elapsed_ns) for o in result.outcomes
                    if o.ticket_id == ticket]  # fmt: skip
        assert [(c.sla, c.status, c.elapsed_ns) for c in timeline.clocks] == outcomes


def test_office_hours_split_running_time_and_use_the_calendars_zone() -> None:
    """P3 created Friday 2026-11-27 17:00 Shanghai (09:00Z): first response runs 17:00-18:00,
    is outside business hours until Monday 09:00, runs until its response at 10:00 (2h of
    office time: met at the target exactly). Times read in CST."""
    log = EventLog()
    log.created("T", "2026-11-27T09:00:00Z", priority="P3")
    log.add("ticket.responded", "T", "2026-11-30T02:00:00Z")
    timeline = timeline_of(log, "T", calendar_policy())
    assert timeline.timezone == "Asia/Shanghai"
    first = timeline.clocks[0]
    assert first.status == "met"
    spans = [(timeline.local(s.start), timeline.local(s.end), s.state) for s in first.spans]
    assert spans == [
        ("2026-11-27 17:00:00 CST", "2026-11-27 18:00:00 CST", "running"),
        ("2026-11-27 18:00:00 CST", "2026-11-30 09:00:00 CST", "outside_business_hours"),
        ("2026-11-30 09:00:00 CST", "2026-11-30 10:00:00 CST", "running"),
    ]
    assert first.rule == (
        "met: stopped at 2026-11-30 10:00:00 CST by ticket.responded with elapsed 2h <= target 2h"
    )


def test_priority_raise_explains_a_breach_before_the_event() -> None:
    """P3 at 0, raised to P1 at 12m: P1's 10m first-response target applies from creation,
    so the breach instant is 10m, before the raise; the alert says so too."""
    log = EventLog()
    log.created("T", at(0), priority="P3")
    log.add("ticket.priority_changed", "T", at(12), {"priority": "P1"})
    timeline = timeline_of(log, "T", until=parse_rfc3339(at(20)))
    first = timeline.clocks[0]
    assert first.status == "breached"
    assert first.breach_at == parse_rfc3339(at(10))
    assert first.rule.startswith("breached: still running at until, elapsed 20m > target 10m")
    assert first.rule.endswith("(P1's target, applied from creation)")
    assert timeline.notes == [
        (
            "priority P3 -> P1 at 2026-11-23 08:12:00 UTC: P1 targets applied from creation, "
            "first_response breach at 2026-11-23 08:10:00 UTC (before the event)"
        )
    ]
    breached = [a for a in timeline.alerts if a.type == "sla.breached"]
    assert [(a.sla, a.at) for a in breached] == [("first_response", parse_rfc3339(at(10)))]


def test_pause_spans_and_an_open_paused_clock() -> None:
    """Resolution pauses at 10m: running 0-10m, then paused until T (30m); open, no deadline."""
    log = EventLog()
    log.created("T", at(0), priority="P2")
    log.add("ticket.paused", "T", at(10), {"reason": "waiting for parts"})
    log.add("ticket.responded", "T", at(30))
    timeline = timeline_of(log, "T")
    resolution = timeline.clocks[2]
    assert [(s.start, s.end, s.state) for s in resolution.spans] == [
        (parse_rfc3339(at(0)), parse_rfc3339(at(10)), "running"),
        (parse_rfc3339(at(10)), parse_rfc3339(at(30)), "paused"),
    ]
    assert resolution.rule == (
        "open: paused since 2026-11-23 08:10:00 UTC, elapsed 10m <= target 4h; no deadline "
        "while paused"
    )
    assert timeline.clocks[1].rule.startswith("not applicable")


def test_events_after_until_and_before_creation_are_listed_as_not_applied() -> None:
    """An event before creation is ignored; after --until it is not applied."""
    log = EventLog()
    log.add("ticket.responded", "T", at(0))
    log.created("T", at(1))
    log.add("ticket.resolved", "T", at(50))
    timeline = timeline_of(log, "T", until=parse_rfc3339(at(20)))
    effects = [e.effect for e in timeline.events]
    assert effects[0] == "ignored: before the ticket's creation"
    assert effects[2] == "after until: not applied"
    assert timeline.clocks[2].status == "open"


def test_cli_text_json_and_only_this_tickets_data(tmp_path: Path) -> None:
    """The text names the ticket's rules and alerts; --json has the same timeline; another
    ticket's id, region or technician never appears."""
    log = EventLog()
    log.created("T-1", at(0), priority="P1")
    log.created("T-2", at(0), priority="P1", region="secret-region")
    log.add("technician.dispatched", "T-2", at(1), {"technician_id": "tech-secret"})
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"\n".join(log.lines()))
    text = CliRunner().invoke(main, ["explain", str(path), "T-1", "--until", at(30)])
    assert text.exit_code == 0, text.output
    assert "first_response: breached" in text.stdout
    assert "sla.breached" in text.stdout
    as_json = CliRunner().invoke(main, ["explain", str(path), "T-1", "--json"])
    assert as_json.exit_code == 0, as_json.output
    document = orjson.loads(as_json.stdout)
    assert document["ticket_id"] == "T-1"
    assert [c["status"] for c in document["clocks"]] == ["open", "not_applicable", "open"]
    for output in (text.stdout, as_json.stdout):
        for secret in ("T-2", "secret-region", "tech-secret"):
            assert secret not in output


def test_cli_unknown_ticket_is_an_error(tmp_path: Path) -> None:
    """A ticket without a ticket.created at or before until: exit 1 and why."""
    log = EventLog()
    log.created("T-1", at(0))
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"\n".join(log.lines()))
    result = CliRunner().invoke(main, ["explain", str(path), "T-9"])
    assert result.exit_code == 1
    assert "no ticket 'T-9' created at or before until" in result.output
