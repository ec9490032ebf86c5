"""Official holiday calendars (docs/policy.md#official-holidays), hand-computed.

China 2026 (the State Council's notice, as chinese-calendar has it): Mid-Autumn Festival
Fri 25 Sep; National Day Thu 1 - Wed 7 Oct; make-up workdays Sun 20 Sep and Sat 10 Oct.
The office calendar below: Asia/Shanghai (UTC+8), Mon-Fri 09:00-12:00 and 13:00-18:00
(8 h a day), a make-up workday open like a Monday.
"""

from __future__ import annotations

from datetime import date

import pytest

from slamon.adapters.policy_yaml import loads_policy
from slamon.core.calendars import WeeklyCalendar
from slamon.core.policy import PolicyError, SlaPolicy, policy_from_dict
from slamon.core.timefmt import parse_rfc3339
from slamon.testing import EventLog
from tests.helpers import run_replay

FR, ON, RES = "first_response", "onsite_arrival", "resolution"
HOURS = '["09:00-12:00", "13:00-18:00"]'


def policy_text(holidays: str, extra: str = "workday: mon") -> str:
    week = ", ".join(f"{d}: {HOURS}" for d in ("mon", "tue", "wed", "thu", "fri"))
    return f"""apiVersion: slamon/v1
kind: SlaPolicy
metadata: {{name: cn}}
spec:
  calendars:
    office:
      timezone: Asia/Shanghai
      weekly: {{{week}}}
      holidays: {holidays}
      {extra}
  priorities:
    P1: {{calendar: 24x7, first_response: 5m, onsite_arrival: 4h, resolution: 8h}}
    P2: {{calendar: 24x7, first_response: 15m, onsite_arrival: 8h, resolution: 24h}}
    P3: {{calendar: office, first_response: 1h, onsite_arrival: 8h, resolution: 24h}}
    P4: {{calendar: office, first_response: 4h, onsite_arrival: 24h, resolution: 48h}}
"""


def cn_policy(
    holidays: str = "{country: CN, years: 2026}", extra: str = "workday: mon"
) -> SlaPolicy:
    return loads_policy(policy_text(holidays, extra), "cn.yaml")


def office(policy: SlaPolicy) -> WeeklyCalendar:
    calendar = policy.calendar("P3")
    assert isinstance(calendar, WeeklyCalendar)
    return calendar


def national_day_ticket(time: str = "2026-09-30T13:00:00+08:00") -> EventLog:
    log = EventLog()
    log.created("T1", time, "P3", service="onsite")
    return log


def test_the_official_holidays_and_make_up_workdays_become_plain_dates() -> None:
    """The core gets dates: National Day closed, Sat 10 Oct open with Monday's hours."""
    calendar = office(cn_policy())
    assert {date(2026, 10, d) for d in range(1, 8)} <= calendar.holidays
    assert date(2026, 9, 25) in calendar.holidays  # Mid-Autumn Festival, a Friday
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= calendar.workdays
    assert calendar.workday == ((540, 720), (780, 1080))
    assert not calendar.holidays & {date(2026, 9, 30), date(2026, 10, 8)}


def test_a_p3_ticket_before_national_day_skips_holidays_and_runs_on_the_make_up_saturday() -> None:
    """Opened Wed 30 Sep 13:00: first response 14:00 the same day; on-site 8 h = 5 h on the
    30th + 3 h on Thu 8 Oct (12:00); resolution 24 h = 5 + 8 (Thu 8) + 8 (Fri 9) + 3 on the
    make-up Sat 10 Oct: 12:00 that Saturday. The holidays 1-7 Oct count nothing."""
    run = run_replay(
        national_day_ticket(), cn_policy(), until=parse_rfc3339("2026-09-30T05:30:00Z")
    )
    assert run.outcome("T1", FR).deadline == parse_rfc3339("2026-09-30T14:00:00+08:00")
    assert run.outcome("T1", ON).deadline == parse_rfc3339("2026-10-08T12:00:00+08:00")
    assert run.outcome("T1", RES).deadline == parse_rfc3339("2026-10-10T12:00:00+08:00")


def test_a_make_up_workday_counts_its_hours() -> None:
    """Evaluated at Sat 10 Oct 11:00 local, the resolution clock has 5 + 8 + 8 + 2 = 23 h:
    two hours of the make-up Saturday counted, none of the holidays."""
    run = run_replay(
        national_day_ticket(), cn_policy(), until=parse_rfc3339("2026-10-10T11:00:00+08:00")
    )
    assert run.elapsed_s("T1", RES) == 23 * 3600
    assert run.status("T1", RES) == "open"


def test_an_official_holiday_is_skipped_without_being_listed() -> None:
    """At Wed 7 Oct 18:00 local (the last holiday's close) only the 30th's 5 h have run."""
    run = run_replay(
        national_day_ticket(), cn_policy(), until=parse_rfc3339("2026-10-07T18:00:00+08:00")
    )
    assert run.elapsed_s("T1", RES) == 5 * 3600


def test_explicit_dates_override_the_official_ones() -> None:
    """holidays.dates closes the make-up Saturday; workdays opens 7 Oct (a holiday) with the
    workday schedule. Resolution: 5 h (30 Sep) + 8 (7 Oct) + 8 (8 Oct) + 3 (9 Oct) = Fri 9
    Oct 12:00."""
    policy = cn_policy(
        '{country: CN, years: 2026, dates: ["2026-10-10"]}',
        'workday: mon\n      workdays: ["2026-10-07"]',
    )
    calendar = office(policy)
    assert date(2026, 10, 10) in calendar.holidays
    assert date(2026, 10, 10) not in calendar.workdays
    assert date(2026, 10, 7) in calendar.workdays
    assert date(2026, 10, 7) not in calendar.holidays
    run = run_replay(national_day_ticket(), policy, until=parse_rfc3339("2026-09-30T05:30:00Z"))
    assert run.outcome("T1", RES).deadline == parse_rfc3339("2026-10-09T12:00:00+08:00")


def test_an_explicit_workday_schedule_of_intervals() -> None:
    """workday: ['10:00-14:00'] opens the make-up Saturday 10:00-14:00 only: resolution 5 +
    8 + 8 = 21 h by Fri 9 Oct, 3 h more on Saturday from 10:00: 13:00."""
    policy = cn_policy(extra='workday: ["10:00-14:00"]')
    run = run_replay(national_day_ticket(), policy, until=parse_rfc3339("2026-09-30T05:30:00Z"))
    assert run.outcome("T1", RES).deadline == parse_rfc3339("2026-10-10T13:00:00+08:00")


def test_years_the_data_does_not_cover_are_an_error_naming_the_calendar_and_the_years() -> None:
    """chinese-calendar covers 2004-2026 (version 1.11): asking for 2026-2028 is refused
    with the file, the line, the calendar and the missing years, never 2027 without
    holidays."""
    with pytest.raises(PolicyError) as info:
        cn_policy("{country: CN, years: 2026-2028}")
    text = str(info.value)
    assert text.startswith("cn.yaml:9: spec.calendars.office.holidays.years: calendar 'office'")
    assert "cover 2004-2026, not 2027-2028" in text


def test_years_before_the_data_are_refused_too() -> None:
    """A list of years with gaps: each uncovered run is named."""
    with pytest.raises(PolicyError, match=r"not 1999, 2001-2002"):
        cn_policy("{country: CN, years: [1999, 2001, 2002, 2026]}")


@pytest.mark.parametrize(
    ("holidays", "extra", "path", "message"),
    [
        ("{country: CN}", "workday: mon", "holidays", "missing required key 'years'"),
        ("{country: china, years: 2026}", "workday: mon", "holidays.country", "country code"),
        ("{country: XX, years: 2026}", "workday: mon", "holidays.country", "not available"),
        ("{country: CN, years: 2026, region: x}", "workday: mon", "holidays.region",
         "unknown key"),
        ("{country: CN, years: 2027-2026}", "workday: mon", "holidays.years", "ends before"),
        ("{country: CN, years: 2026}", "", "", "missing required key 'workday'"),
        ("{country: CN, years: 2026}", "workday: sat", "workday", "no open interval"),
        ("{country: CN, years: 2026}", "workday: someday", "workday", "expected a weekday"),
    ],
)  # fmt: skip
def test_bad_official_holidays_name_the_field(
    holidays: str, extra: str, path: str, message: str
) -> None:
    """Each mistake is an error at its field, with the file and line."""
    with pytest.raises(PolicyError) as info:
        cn_policy(holidays, extra)
    want = "spec.calendars.office" + (f".{path}" if path else "")
    assert ".".join(info.value.path) == want
    assert message in info.value.message
    assert info.value.source == "cn.yaml"
    assert info.value.line is not None


def test_other_countries_and_subdivisions_come_from_the_holidays_package() -> None:
    """Germany, Bavaria, 2026: Epiphany (Tue 6 Jan) is a Bavarian holiday, not a Berlin one;
    no make-up workdays, so no workday schedule is needed."""
    bavaria = office(cn_policy("{country: DE, subdivision: BY, years: 2026}", ""))
    berlin = office(cn_policy("{country: DE, subdivision: BE, years: 2026}", ""))
    assert date(2026, 1, 6) in bavaria.holidays
    assert date(2026, 1, 6) not in berlin.holidays
    assert date(2026, 12, 25) in bavaria.holidays
    assert not bavaria.workdays


def test_the_core_refuses_a_mapping_it_cannot_resolve() -> None:
    """policy_from_dict (no loader) takes dates only: an official-holidays mapping is an
    error saying where they are read, not a silent calendar without holidays."""
    document = {
        "apiVersion": "slamon/v1", "kind": "SlaPolicy", "metadata": {"name": "x"},
        "spec": {
            "calendars": {"office": {"timezone": "UTC", "weekly": {"mon": ["09:00-17:00"]},
                                     "holidays": {"country": "CN", "years": 2026}}},
            "priorities": {p: {"first_response": "1h", "onsite_arrival": "1h",
                               "resolution": "1h"} for p in ("P1", "P2", "P3", "P4")},
        },
    }  # fmt: skip
    with pytest.raises(PolicyError, match="read by the policy loader"):
        policy_from_dict(document)


def test_a_ticket_on_the_mid_autumn_friday_starts_on_monday() -> None:
    """Fri 25 Sep 2026 is itself an official holiday (Mid-Autumn Festival), so a P3 ticket
    opened then at 10:00 starts counting on Mon 28 Sep at 09:00: first response 10:00."""
    log = national_day_ticket("2026-09-25T10:00:00+08:00")
    run = run_replay(log, cn_policy(), until=parse_rfc3339("2026-09-25T03:00:00Z"))
    assert run.outcome("T1", FR).deadline == parse_rfc3339("2026-09-28T10:00:00+08:00")
