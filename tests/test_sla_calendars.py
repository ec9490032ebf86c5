"""SLA clocks in business calendars: lunch, weekends, holidays, closing time, DST.

The "office" calendar is Asia/Shanghai (UTC+8, no DST), Mon-Fri 09:00-12:00 and
13:00-18:00, holiday 2026-10-01 (a Thursday); "berlin" is Europe/Berlin 08:00-20:00
every day (DST starts 2026-03-29). Expectations are hand-computed in local time.
"""

from __future__ import annotations

from slamon.core.timefmt import parse_rfc3339
from slamon.testing import EventLog
from tests.helpers import calendar_policy, run_replay

FR = "first_response"


def respond(created: str, responded: str, priority: str = "P3") -> EventLog:
    log = EventLog()
    log.created("T1", created, priority=priority)
    log.add("ticket.responded", "T1", responded)
    return log


def test_lunch_break_is_not_counted() -> None:
    """Monday 11:00 -> 14:00 is 2h of office time (lunch 12-13 excluded): exactly met."""
    run = run_replay(respond("2026-11-23T11:00:00+08:00", "2026-11-23T14:00:00+08:00"),
                     calendar_policy())  # fmt: skip
    assert run.elapsed_s("T1", FR) == 7200
    assert run.status("T1", FR) == "met"


def test_one_ms_over_in_office_time_breaches_at_local_instant() -> None:
    """Responded 14:00:00.001 local: breached, breach instant 14:00 local (06:00Z)."""
    run = run_replay(respond("2026-11-23T11:00:00+08:00", "2026-11-23T14:00:00.001+08:00"),
                     calendar_policy())  # fmt: skip
    assert run.status("T1", FR) == "breached"
    assert run.alerts("T1", FR)[-1].at == parse_rfc3339("2026-11-23T06:00:00Z")


def test_weekend_is_not_counted() -> None:
    """Friday 17:00 -> Monday 10:00 is 1h + 1h of office time."""
    run = run_replay(respond("2026-11-27T17:00:00+08:00", "2026-11-30T10:00:00+08:00"),
                     calendar_policy())  # fmt: skip
    assert run.elapsed_s("T1", FR) == 7200
    assert run.status("T1", FR) == "met"


def test_holiday_is_not_counted() -> None:
    """Wednesday 17:00 -> Friday 10:00 across the Thursday 2026-10-01 holiday is 2h."""
    run = run_replay(respond("2026-09-30T17:00:00+08:00", "2026-10-02T10:00:00+08:00"),
                     calendar_policy())  # fmt: skip
    assert run.elapsed_s("T1", FR) == 7200


def test_target_used_up_at_closing_breaches_at_next_opening() -> None:
    """Created 16:00: 2h used up at 18:00 (the deadline); the breach falls at 09:00 next day."""
    log = EventLog()
    log.created("T1", "2026-11-23T16:00:00+08:00", priority="P3")
    night = run_replay(log, calendar_policy(), until=parse_rfc3339("2026-11-24T08:59:00+08:00"))
    assert night.status("T1", FR) == "open"
    assert night.outcome("T1", FR).deadline == parse_rfc3339("2026-11-23T18:00:00+08:00")
    assert "sla.breached" not in night.kinds("T1", FR)
    morning = run_replay(log, calendar_policy(), until=parse_rfc3339("2026-11-24T09:00:01+08:00"))
    assert morning.status("T1", FR) == "breached"
    breach = morning.alerts("T1", FR)[-1]
    assert breach.type == "sla.breached"
    assert breach.at == parse_rfc3339("2026-11-24T09:00:00+08:00")
    assert breach.deadline == parse_rfc3339("2026-11-23T18:00:00+08:00")


def test_dst_start_day_in_berlin() -> None:
    """Sat 19:00 CET -> Sun 09:00 CEST (DST starts overnight): 1h + 1h of 08-20 time, met."""
    run = run_replay(respond("2026-03-28T19:00:00+01:00", "2026-03-29T09:00:00+02:00", "P4"),
                     calendar_policy())  # fmt: skip
    assert run.elapsed_s("T1", FR) == 7200
    assert run.status("T1", FR) == "met"


def test_priority_change_swaps_the_calendar_retroactively() -> None:
    """P3 (office) created 17:00, raised to P1 (24x7, 10m) at 17:05: breach at 17:10 local."""
    log = EventLog()
    log.created("T1", "2026-11-23T17:00:00+08:00", priority="P3")
    log.add("ticket.priority_changed", "T1", "2026-11-23T17:05:00+08:00", {"priority": "P1"})
    log.add("ticket.responded", "T1", "2026-11-23T17:20:00+08:00")
    run = run_replay(log, calendar_policy())
    assert run.elapsed_s("T1", FR) == 20 * 60
    breach = [a for a in run.alerts("T1", FR) if a.type == "sla.breached"]
    assert [a.at for a in breach] == [parse_rfc3339("2026-11-23T17:10:00+08:00")]


def test_priority_lowered_at_night_retracts_under_office_calendar() -> None:
    """P1 created 20:00 breaches at 20:10; lowered to P3 at 20:30, office time 0: retracted."""
    log = EventLog()
    log.created("T1", "2026-11-23T20:00:00+08:00", priority="P1")
    log.add("ticket.priority_changed", "T1", "2026-11-23T20:30:00+08:00", {"priority": "P3"})
    log.add("ticket.responded", "T1", "2026-11-24T09:30:00+08:00")
    run = run_replay(log, calendar_policy())
    assert run.kinds("T1", FR) == ["sla.at_risk", "sla.breached", "sla.breach_retracted"]
    assert run.elapsed_s("T1", FR) == 30 * 60
    assert run.status("T1", FR) == "met"
