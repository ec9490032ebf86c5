"""The SLA contract (docs/contract.md), rule by rule, on a 24x7 test policy.

Targets of ``small_policy``: P1 10m/1h/2h, P2 30m/2h/4h, P3 1h/4h/8h, P4 2h/8h/16h
(first_response/onsite_arrival/resolution), warn_at 0.75, pause [resolution].
Every expectation below is computed by hand from those numbers.
"""

from __future__ import annotations

import hashlib

from slamon.core.timefmt import parse_rfc3339
from slamon.testing import EventLog, at, small_policy
from tests.helpers import run_replay

FR, ON, RES = "first_response", "onsite_arrival", "resolution"


def blake2b_128(ticket: str, sla: str, kind: str, generation: int) -> str:
    """The documented id: BLAKE2b-128 of ticket, SLA, type and breach generation, joined by
    the unit separator (0x1f), as hex. Computed here independently of the engine."""
    key = "\x1f".join((ticket, sla, kind, str(generation))).encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def test_elapsed_equal_to_target_is_met() -> None:
    """A response exactly at the 30m target is met, with 1800 s elapsed."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.responded", "T1", at(30))
    run = run_replay(log)
    assert run.status("T1", FR) == "met"
    assert run.elapsed_s("T1", FR) == 1800.0
    assert run.kinds("T1", FR) == ["sla.at_risk"]


def test_one_millisecond_over_target_is_breached_at_the_deadline() -> None:
    """A response 1 ms late is breached; the alert's instant is when elapsed passed 30m."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.responded", "T1", "2026-11-23T08:30:00.001Z")
    run = run_replay(log)
    assert run.status("T1", FR) == "breached"
    assert run.elapsed_s("T1", FR) == 1800.001
    breach = run.alerts("T1", FR)[-1]
    assert breach.type == "sla.breached"
    assert breach.at == parse_rfc3339(at(30))


def test_open_clock_at_its_deadline_is_open_and_one_ms_later_breached() -> None:
    """At T == deadline a running clock is open; 1 ms later it is breached with no event."""
    log = EventLog()
    log.created("T1", at(0))
    run = run_replay(log, until=parse_rfc3339(at(30)))
    assert run.status("T1", FR) == "open"
    assert run.outcome("T1", FR).deadline == parse_rfc3339(at(30))
    later = run_replay(log, until=parse_rfc3339(at(30)) + 1_000_000)
    assert later.status("T1", FR) == "breached"
    assert later.kinds("T1", FR) == ["sla.at_risk", "sla.breached"]


def test_breach_fires_with_no_event_of_that_ticket() -> None:
    """A P1 ticket left alone: at-risk at 7.5m and breach at 10m, before another ticket's event."""
    log = EventLog()
    log.created("A", at(0), priority="P1")
    log.created("B", at(20), priority="P4")
    run = run_replay(log)
    first_two = run.result.alerts[:2]
    assert [(a.ticket_id, a.type) for a in first_two] == [
        ("A", "sla.at_risk"),
        ("A", "sla.breached"),
    ]
    assert first_two[0].at == parse_rfc3339(at(7.5))
    assert first_two[1].at == parse_rfc3339(at(10))
    assert run.status("A", FR) == "breached"
    assert run.elapsed_s("A", FR) == 1200.0


def test_pause_stops_only_resolution_by_default() -> None:
    """Paused 1h..3h: resolution counts 1h + 2h = 3h (met, 4h target); first response runs on."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.paused", "T1", at(60), {"reason": "awaiting_parts"})
    log.add("ticket.responded", "T1", at(120))
    log.add("ticket.resumed", "T1", at(180))
    log.add("ticket.resolved", "T1", at(300))
    run = run_replay(log)
    assert run.elapsed_s("T1", RES) == 3 * 3600
    assert run.status("T1", RES) == "met"
    assert run.elapsed_s("T1", FR) == 2 * 3600
    assert run.status("T1", FR) == "breached"


def test_pause_list_from_policy_applies_to_first_response() -> None:
    """With pause [first_response], a 40m pause leaves 20m of first-response time: met."""
    policy = small_policy(pause=["first_response", "resolution"])
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.paused", "T1", at(10))
    log.add("ticket.resumed", "T1", at(50))
    log.add("ticket.responded", "T1", at(60))
    run = run_replay(log, policy)
    assert run.elapsed_s("T1", FR) == 20 * 60
    assert run.status("T1", FR) == "met"


def test_double_pause_and_resume_while_running_change_nothing() -> None:
    """Pause twice then resume once; a resume while running has no effect: 1h + 1h counted."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.resumed", "T1", at(30))  # running already: no effect
    log.add("ticket.paused", "T1", at(60))
    log.add("ticket.paused", "T1", at(90))  # paused already: no effect
    log.add("ticket.resumed", "T1", at(120))
    log.add("ticket.resolved", "T1", at(180))
    run = run_replay(log)
    assert run.elapsed_s("T1", RES) == 2 * 3600


def test_reopen_accumulates_resolution_time_over_cycles() -> None:
    """3h, then reopened for 1.5h: 4.5h > 4h, breached 1h after the reopen."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.resolved", "T1", at(180))
    log.add("ticket.reopened", "T1", at(600))
    log.add("ticket.resolved", "T1", at(690))
    run = run_replay(log)
    assert run.elapsed_s("T1", RES) == 4.5 * 3600
    assert run.status("T1", RES) == "breached"
    breach = [a for a in run.alerts("T1", RES) if a.type == "sla.breached"]
    assert [a.at for a in breach] == [parse_rfc3339(at(660))]


def test_reopen_of_an_unresolved_ticket_is_ignored() -> None:
    """A reopen on an open ticket changes nothing and does not count as a reopen."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.reopened", "T1", at(30))
    log.add("ticket.resolved", "T1", at(60))
    run = run_replay(log)
    assert run.elapsed_s("T1", RES) == 3600
    assert run.result.quality["reopen_rate"] == 0.0


def test_pause_persists_through_resolve_and_reopen() -> None:
    """Paused at 1h, resolved, reopened at 3h still paused, resumed 5h, resolved 6h: 2h."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.paused", "T1", at(60))
    log.add("ticket.resolved", "T1", at(120))
    log.add("ticket.reopened", "T1", at(180))
    log.add("ticket.resumed", "T1", at(300))
    log.add("ticket.resolved", "T1", at(360))
    run = run_replay(log)
    assert run.elapsed_s("T1", RES) == 2 * 3600
    assert run.status("T1", RES) == "met"


def test_priority_raise_reveals_a_past_breach() -> None:
    """P3 -> P1 at 40m: the 10m target applies from creation; breach at 10m, known at 40m."""
    log = EventLog()
    log.created("T1", at(0), priority="P3")
    log.add("ticket.priority_changed", "T1", at(40), {"priority": "P1"})
    log.add("ticket.responded", "T1", at(45))
    run = run_replay(log)
    assert run.outcome("T1", FR).priority == "P1"
    assert run.status("T1", FR) == "breached"
    assert run.kinds("T1", FR) == ["sla.at_risk", "sla.breached"]
    breach = run.alerts("T1", FR)[1]
    assert breach.at == parse_rfc3339(at(10))
    assert breach.priority == "P1"


def test_priority_lowering_retracts_a_breach_and_a_rebreach_alerts_again() -> None:
    """P1 breached at 10m; lowered to P3 at 20m retracts; P3's 1h passes at 60m: new breach."""
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.priority_changed", "T1", at(20), {"priority": "P3"})
    log.created("other", at(70))
    run = run_replay(log)
    alerts = run.alerts("T1", FR)
    assert [a.type for a in alerts] == [
        "sla.at_risk",
        "sla.breached",
        "sla.breach_retracted",
        "sla.breached",
    ]
    assert [a.at for a in alerts[1:]] == [parse_rfc3339(at(m)) for m in (10, 20, 60)]
    assert alerts[1].id != alerts[3].id
    assert [a.id for a in alerts] == [
        blake2b_128("T1", FR, "sla.at_risk", 1),
        blake2b_128("T1", FR, "sla.breached", 1),
        blake2b_128("T1", FR, "sla.breach_retracted", 1),  # retracts breach number 1
        blake2b_128("T1", FR, "sla.breached", 2),  # the re-breach is the second
    ]
    assert run.status("T1", FR) == "breached"
    assert run.standing_breaches() == run.breached_outcomes()


def test_cancel_retracts_and_removes_the_ticket_from_aggregates() -> None:
    """A breached P1 then cancelled: all SLAs cancelled, the breach retracted, no counts."""
    log = EventLog()
    log.created("T1", at(0), priority="P1", service="onsite")
    log.add("ticket.cancelled", "T1", at(30))
    log.add("ticket.responded", "T1", at(40))
    log.add("survey.submitted", "T1", at(50), {"score": 2})
    run = run_replay(log)
    assert {run.status("T1", s) for s in (FR, ON, RES)} == {"cancelled"}
    assert run.kinds("T1", FR)[-1] == "sla.breach_retracted"
    assert run.standing_breaches() == set()
    report = run.result.report()
    assert report["slas"]["P1"][FR]["count"] == 0
    assert report["quality"]["csat_count"] == 0


def test_remote_ticket_has_no_onsite_clock_and_cancelled_beats_not_applicable() -> None:
    """onsite_arrival is not_applicable for remote work, and cancelled once cancelled."""
    log = EventLog()
    log.created("R", at(0))
    log.created("C", at(0), service="remote")
    log.add("ticket.cancelled", "C", at(1))
    run = run_replay(log)
    assert run.status("R", ON) == "not_applicable"
    assert run.status("C", ON) == "cancelled"
    assert run.result.report()["slas"]["P2"][ON]["count"] == 0


def test_onsite_arrival_runs_until_the_first_arrival() -> None:
    """On-site P2 (2h): dispatch changes nothing, first arrival at 90m stops it, second ignored."""
    log = EventLog()
    log.created("T1", at(0), service="onsite")
    log.add("technician.dispatched", "T1", at(10), {"technician_id": "tech-1"})
    log.add("technician.arrived", "T1", at(90), {"technician_id": "tech-1"})
    log.add("technician.arrived", "T1", at(200), {"technician_id": "tech-2"})
    run = run_replay(log)
    assert run.status("T1", ON) == "met"
    assert run.elapsed_s("T1", ON) == 90 * 60


def test_duplicates_first_valid_occurrence_wins() -> None:
    """An invalid line reserves no id; the first valid line wins even if later in time."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.responded", "T1", "not a time", id="dup")
    log.add("ticket.responded", "T1", at(20), id="dup")
    log.add("ticket.responded", "T1", at(10), id="dup")
    run = run_replay(log)
    events = run.result.report()["events"]
    assert events == {"processed": 2, "invalid": 1, "duplicates": 1, "orphans": 0}
    assert run.elapsed_s("T1", FR) == 20 * 60


def test_orphans_and_events_before_created() -> None:
    """Events of a never-created subject are orphans; events sorting before created are ignored."""
    log = EventLog()
    log.add("ticket.responded", "ghost", at(5))
    log.add("ticket.resolved", "ghost", at(6))
    log.add("ticket.responded", "T1", at(0))  # same time as created but earlier in the log
    log.created("T1", at(0))
    log.created("T1", at(1), priority="P1")  # a second created is ignored
    log.add("ticket.responded", "T1", at(15))
    run = run_replay(log)
    assert run.result.report()["events"]["orphans"] == 2
    assert run.result.report()["events"]["processed"] == 6
    assert ("ghost", FR) not in run.by_pair
    assert run.outcome("T1", FR).priority == "P2"
    assert run.elapsed_s("T1", FR) == 15 * 60


def test_ticket_created_after_until_has_no_outcomes() -> None:
    """With --until before its creation a ticket has no outcomes and no orphan events."""
    log = EventLog()
    log.add("ticket.responded", "T1", at(5))
    log.created("T1", at(0))
    log.created("T2", at(10))
    run = run_replay(log, until=parse_rfc3339(at(5)))
    assert ("T2", FR) not in run.by_pair
    assert run.result.report()["events"]["orphans"] == 0
    assert run.status("T1", FR) == "met"


def test_events_arriving_out_of_order_are_applied_in_event_time() -> None:
    """A response logged before its ticket's creation line still stops the clock."""
    log = EventLog()
    log.add("ticket.responded", "T1", at(25))
    log.add("ticket.resolved", "T1", at(100))
    log.created("T1", at(0))
    run = run_replay(log)
    assert run.status("T1", FR) == "met"
    assert run.elapsed_s("T1", FR) == 25 * 60
    assert run.elapsed_s("T1", RES) == 100 * 60


def test_until_applies_events_at_t_and_not_after() -> None:
    """An event exactly at T is applied; a later one is processed but not applied."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.responded", "T1", at(20))
    log.add("ticket.resolved", "T1", at(40))
    run = run_replay(log, until=parse_rfc3339(at(20)))
    assert run.status("T1", FR) == "met"
    assert run.status("T1", RES) == "open"
    assert run.elapsed_s("T1", RES) == 20 * 60
    assert run.result.report()["events"]["processed"] == 3
    assert run.result.report()["until"] == "2026-11-23T08:20:00.000Z"


def test_outcome_deadline_is_null_unless_running() -> None:
    """A running clock reports its deadline; a stopped or paused one reports none."""
    log = EventLog()
    log.created("T1", at(0))
    log.add("ticket.responded", "T1", at(5))
    log.add("ticket.paused", "T1", at(10))
    run = run_replay(log)
    assert run.outcome("T1", FR).deadline is None
    assert run.outcome("T1", RES).deadline is None
    assert run.outcome("T1", RES).to_dict()["deadline"] is None
    log.add("ticket.resumed", "T1", at(70))
    run = run_replay(log)
    # 10m ran before the pause; 3h50m more from 70m -> 300m
    assert run.outcome("T1", RES).to_dict()["deadline"] == "2026-11-23T13:00:00.000Z"


def test_quality_figures() -> None:
    """FTF uses the last resolution's flag; reopen rate over resolved tickets; CSAT mean."""
    log = EventLog()
    for ticket in ("A", "B", "C", "D"):
        log.created(ticket, at(0))
    log.add("ticket.resolved", "A", at(10), {"first_time_fix": True})
    log.add("ticket.resolved", "B", at(10), {"first_time_fix": True})
    log.add("ticket.reopened", "B", at(20))
    log.add("ticket.resolved", "B", at(30), {"first_time_fix": False})
    log.add("ticket.resolved", "C", at(10), {"first_time_fix": "yes"})  # not a flag
    log.add("survey.submitted", "A", at(40), {"score": 9})
    log.add("survey.submitted", "B", at(40), {"score": 6})
    log.add("survey.submitted", "D", at(40), {"score": 10})
    quality = run_replay(log).result.quality
    assert quality["first_time_fix_rate"] == 0.5  # A true, B false (last), C unflagged
    assert quality["reopen_rate"] == 1 / 3  # B of A, B, C
    assert quality["csat_mean"] == 25 / 3
    assert quality["csat_count"] == 3


def test_percentiles_are_nearest_rank_over_stopped_clocks() -> None:
    """Responses at 1..5 minutes: mean 180 s, p50 180 s (rank 3), p80 240 s, p95 300 s."""
    log = EventLog()
    for minute in range(1, 6):
        log.created(f"T{minute}", at(0))
        log.add("ticket.responded", f"T{minute}", at(minute))
    log.created("open-one", at(0))
    row = run_replay(log).result.report()["slas"]["P2"][FR]
    assert row["count"] == 6
    assert row["met"] == 5
    assert row["open"] == 1
    assert row["compliance"] == 1.0
    assert (row["mean_seconds"], row["p50_seconds"], row["p80_seconds"], row["p95_seconds"]) == (
        180.0,
        180.0,
        240.0,
        300.0,
    )


def test_report_lists_every_priority_and_sla_with_nulls_when_empty() -> None:
    """Priorities without tickets still appear, with null compliance and percentiles."""
    log = EventLog()
    log.created("T1", at(0))
    report = run_replay(log).result.report()
    assert set(report["slas"]) == {"P1", "P2", "P3", "P4"}
    assert report["slas"]["P4"][RES] == {
        "count": 0, "met": 0, "breached": 0, "open": 0, "compliance": None,
        "mean_seconds": None, "p50_seconds": None, "p80_seconds": None, "p95_seconds": None,
    }  # fmt: skip


def test_breached_running_clock_counts_against_compliance() -> None:
    """A running clock already past target is breached in compliance but has no duration."""
    log = EventLog()
    log.created("late", at(0))
    log.created("ok", at(0))
    log.add("ticket.responded", "ok", at(10))
    log.add("ticket.closed", "ok", at(45))
    row = run_replay(log).result.report()["slas"]["P2"][FR]
    assert (row["met"], row["breached"], row["compliance"]) == (1, 1, 0.5)
    assert row["p95_seconds"] == 600.0


def test_alert_ids_are_deterministic() -> None:
    """Replaying the same log twice yields the same alert ids, and they are the documented
    digest: the same in every process and on every machine (unlike the builtin hash())."""
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.created("T2", at(30))
    first = [a.id for a in run_replay(log).result.alerts]
    second = [a.id for a in run_replay(log).result.alerts]
    assert first == second
    assert len(set(first)) == len(first) > 0
    # T1 (P1) is at risk at 7.5m and breached at 10m; T2 has no alert by 30m
    assert first == [
        blake2b_128("T1", FR, "sla.at_risk", 1),
        blake2b_128("T1", FR, "sla.breached", 1),
    ]
    # regression anchors: hashlib.blake2b(b"T1\x1ffirst_response\x1fsla.at_risk\x1f1",
    # digest_size=16).hexdigest(), and the same with sla.breached
    assert first == ["4f568d7d66f5554e3f9e8abd95e2228a", "51a2ee66a08204621766bced2dc93a01"]
