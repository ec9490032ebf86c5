"""Official holidays and make-up workdays, from holiday libraries, as plain dates.

A calendar of a policy may write ``holidays: {country: CN, years: 2025-2026}``. Before the
core validates the document, :func:`resolve_official_holidays` replaces that mapping with
the dates it stands for: ``holidays`` (closed) and ``workdays`` (make-up working days,
open with the calendar's ``workday`` schedule), the calendar's explicit dates winning. The
core never imports a library: it gets lists of dates (docs/policy.md#official-holidays).

China (``CN``) comes from ``chinese-calendar``, which publishes the State Council's yearly
notice, make-up workdays (调休) included; every other country and subdivision from
``holidays``. A year the data does not cover is an error naming the calendar and the years,
never a year without holidays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from slamon.core.policy import PolicyError
from slamon.core.text import excerpt

Path = tuple[str, ...]
_YEARS = re.compile(r"([0-9]{4})(?:-([0-9]{4}))?\Z")
_KEYS = ("country", "subdivision", "years", "dates")
MAX_YEARS = 50  # years one calendar may ask for


def resolve_official_holidays(document: Any) -> None:
    """Replace each calendar's ``holidays: {country: ...}`` with plain date lists, in place.

    Anything that is not a policy with such a mapping is left for the core to judge.
    """
    spec = document.get("spec") if isinstance(document, dict) else None
    calendars = spec.get("calendars") if isinstance(spec, dict) else None
    if not isinstance(calendars, dict):
        return
    for name, calendar in calendars.items():
        if isinstance(calendar, dict) and isinstance(calendar.get("holidays"), Mapping):
            _resolve(str(name), calendar, ("spec", "calendars", str(name)))


def _resolve(name: str, calendar: dict[str, Any], path: Path) -> None:
    spec = calendar["holidays"]
    here = (*path, "holidays")
    for key in spec:
        if key not in _KEYS:
            raise PolicyError(f"unknown key {excerpt(key, 80)} (expected one of: "
                              f"{', '.join(sorted(_KEYS))})", (*here, str(key)))  # fmt: skip
    country = spec.get("country")
    if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2,3}", country):
        raise PolicyError(f"expected a country code such as CN or DE, got {excerpt(country, 80)}",
                          (*here, "country"))  # fmt: skip
    subdivision = spec.get("subdivision")
    if subdivision is not None and (not isinstance(subdivision, str) or not subdivision):
        raise PolicyError(f"expected a subdivision code such as BY, got "
                          f"{excerpt(subdivision, 80)}", (*here, "subdivision"))  # fmt: skip
    if "years" not in spec:
        raise PolicyError("missing required key 'years' (the years to take, e.g. 2025-2026)",
                          here)  # fmt: skip
    years = _years(spec["years"], (*here, "years"))
    if country == "CN" and subdivision is None:
        official, makeup, covered, source = _chinese_calendar(years)
    else:
        official, makeup, covered, source = _holidays_package(
            country, subdivision, years, (*here, "country")
        )
    missing = [y for y in years if not covered[0] <= y <= covered[1]]
    if missing:
        have = f"{covered[0]}-{covered[1]}" if covered[0] <= covered[1] else "no year"
        raise PolicyError(
            f"calendar {name!r}: the official holidays of {_place(country, subdivision)} "
            f"({source}) cover {have}, not {_spans(missing)}; upgrade the library or list "
            f"those years' dates under holidays.dates and workdays",
            (*here, "years"),
        )
    explicit = spec.get("dates", [])
    if not isinstance(explicit, list):
        raise PolicyError("expected a list of dates", (*here, "dates"))
    workdays = calendar.get("workdays", [])
    if not isinstance(workdays, list):
        raise PolicyError("expected a list of dates", (*path, "workdays"))
    closed = {str(v) for v in explicit}
    opened = {str(v) for v in workdays}
    holidays = sorted({d.isoformat() for d in official} - opened) + list(explicit)
    extra = sorted({d.isoformat() for d in makeup} - closed - opened)
    calendar["holidays"] = holidays
    calendar["workdays"] = list(workdays) + extra


def _years(value: Any, path: Path) -> list[int]:
    """``2026``, ``"2025-2026"`` or ``[2025, 2026]``."""
    if isinstance(value, list) and value:
        found: set[int] = set()
        for i, item in enumerate(value):
            found.update(_years(item, (*path, str(i))))
        years = sorted(found)
    else:
        match = _YEARS.match(str(value)) if isinstance(value, int | str) else None
        if match is None or isinstance(value, bool):
            raise PolicyError(f"expected a year or a range such as 2025-2026, got "
                              f"{excerpt(value, 80)}", path)  # fmt: skip
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise PolicyError(f"{first}-{last}: the range ends before it starts", path)
        years = list(range(first, last + 1))
    if len(years) > MAX_YEARS:
        raise PolicyError(f"at most {MAX_YEARS} years, got {len(years)}", path)
    return years


Found = tuple[set[date], set[date], tuple[int, int], str]  # holidays, workdays, years, source


def _chinese_calendar(years: list[int]) -> Found:
    """China's official holidays (every day off, weekends inside a holiday too) and its
    make-up workdays (weekend days worked)."""
    import chinese_calendar  # noqa: PLC0415  (only policies that ask for it pay the import)

    holidays: Iterable[date] = chinese_calendar.holidays
    workdays: Iterable[date] = chinese_calendar.workdays
    known = {d.year for d in holidays}
    covered = (min(known), max(known)) if known else (1, 0)
    wanted = set(years)
    official = {d for d in holidays if d.year in wanted}
    makeup = {d for d in workdays if d.year in wanted}
    version = getattr(chinese_calendar, "__version__", "")
    return official, makeup, covered, f"chinese-calendar {version}".strip()


def _holidays_package(country: str, subdivision: str | None, years: list[int], path: Path) -> Found:
    """A country's (or subdivision's) public holidays and weekend workdays, if it has any."""
    import holidays  # noqa: PLC0415

    try:
        table = holidays.country_holidays(country, subdiv=subdivision, years=years)
    except NotImplementedError as exc:
        raise PolicyError(f"no official holidays: {excerpt(str(exc), 120)}", path) from None
    first = int(getattr(table, "start_year", 1))
    last = int(getattr(table, "end_year", 9999))
    wanted = set(years)
    official: set[date] = {d for d in table if d.year in wanted}
    makeup: set[date] = {d for d in getattr(table, "weekend_workdays", ()) if d.year in wanted}
    version = getattr(holidays, "__version__", "")
    return official, makeup, (first, last), f"holidays {version}".strip()


def _place(country: str, subdivision: str | None) -> str:
    return country if subdivision is None else f"{country}-{subdivision}"


def _spans(years: list[int]) -> str:
    """``[2027, 2028, 2030]`` -> ``2027-2028, 2030``."""
    out: list[str] = []
    start = prev = years[0]
    for year in [*years[1:], None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if year is not None:
            start = prev = year
    return ", ".join(out)
