"""The replay loop in the core: decoded items in, a ReplayResult out, no file and no JSON.

Policy: ``small_policy`` (24x7; P1 first response 10m, at risk at 7.5m; P2 30m). Instants
are ``ns(minutes)`` after 2026-11-23T08:00Z.
"""

from __future__ import annotations

from slamon import replay as shell
from slamon.adapters.jsonl import decode_line
from slamon.core.engine import Engine
from slamon.core.events import Event, InvalidEvent
from slamon.core.replay import PROGRESS_EVERY, ReplayResult, replay_events
from slamon.core.timefmt import parse_rfc3339
from slamon.testing import EventLog, at, small_policy

POLICY = small_policy()
FR = "first_response"


def ns(minutes: float) -> int:
    return parse_rfc3339(at(minutes))


def items(log: EventLog) -> list[tuple[int, Event | InvalidEvent]]:
    return [(n, decode_line(line, n)) for n, line in enumerate(log.lines(), start=1)]


def test_the_shell_re_exports_the_core_result() -> None:
    assert shell.ReplayResult is ReplayResult


def test_decoded_items_give_the_same_result_as_the_lines() -> None:
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(12))
    log.created("T2", at(5))
    result = replay_events(items(log), POLICY)
    assert result == shell.replay(log.lines(), POLICY)
    assert [(a.ticket_id, a.type, a.at) for a in result.alerts] == [
        ("T1", "sla.at_risk", ns(7.5)),
        ("T1", "sla.breached", ns(10)),
    ]


def test_invalid_items_are_reported_with_their_line_number_and_duplicates_counted() -> None:
    log = EventLog()
    log.add("ticket.created", "T1", at(0), {"priority": "P2"}, id="a")
    log.add("ticket.created", "T1", at(1), {"priority": "P2"}, id="a")  # the first line wins
    decoded = [*items(log), (7, InvalidEvent("time: no offset"))]
    result = replay_events(decoded, POLICY)
    assert result.invalid == [(7, "time: no offset")]
    assert (result.processed, result.duplicates, result.until) == (1, 1, ns(0))


def test_events_after_until_are_processed_but_not_applied() -> None:
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(20))
    result = replay_events(items(log), POLICY, until=ns(9))
    assert result.processed == 2
    [outcome] = [o for o in result.outcomes if o.sla == FR]
    assert (outcome.status, outcome.elapsed_ns) == ("open", ns(9) - ns(0))
    assert [a.type for a in result.alerts] == ["sla.at_risk"]


def test_an_empty_log_has_no_evaluation_time() -> None:
    result = replay_events([], POLICY)
    assert (result.until, result.processed, result.alerts, result.outcomes) == (None, 0, [], [])


def test_progress_is_called_every_so_many_lines() -> None:
    seen: list[int] = []
    lines = [(n, InvalidEvent("x")) for n in range(1, 2 * PROGRESS_EVERY + 2)]
    replay_events(lines, POLICY, progress=seen.append)
    assert seen == [PROGRESS_EVERY, 2 * PROGRESS_EVERY]


def test_has_due_before_is_strict() -> None:
    """P1 created at 0: the first thing due is the at-risk point, 7.5m (scheduled 1 ns early)."""
    engine = Engine(POLICY)
    assert not engine.has_due_before(ns(1000))
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    [(_, created)] = items(log)
    assert isinstance(created, Event)
    engine.apply(created, ns(0))
    due = engine.next_due()
    assert due == ns(7.5) - 1
    assert not engine.has_due_before(due)
    assert engine.has_due_before(due + 1)
    assert [a.type for a in engine.advance(due + 1)] == ["sla.at_risk"]
