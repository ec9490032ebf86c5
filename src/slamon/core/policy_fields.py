"""What every part of a policy document shares: the SLA and priority names, ``PolicyError``,
the checks of plain values, and one priority's targets and objectives.

Both ``spec.priorities`` (core/policy.py) and ``spec.terms`` (core/terms.py) build
priorities with :func:`priority_policy`, so it lives below both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from slamon.core.calendars import ALWAYS_OPEN, Calendar, WeeklyCalendar
from slamon.core.durations import format_duration, parse_duration
from slamon.core.text import clip, excerpt
from slamon.core.timefmt import NS_PER_S

SLAS = ("first_response", "onsite_arrival", "resolution")
PRIORITIES = ("P1", "P2", "P3", "P4")
# The share of SLAs that must be met, per priority, when the policy names none
# (docs/policy.md#objectives): the Prometheus rules' objectives and error budgets.
DEFAULT_OBJECTIVES = {"P1": Fraction(99, 100), "P2": Fraction(98, 100),
                      "P3": Fraction(95, 100), "P4": Fraction(90, 100)}  # fmt: skip
PRIORITY_KEYS = {"calendar", "objective", *SLAS}  # the keys of one priority's entry

_DECIMAL = re.compile(r"[0-9]{0,3}\.[0-9]{1,15}\Z")  # warn_at as text: a plain decimal
MAX_NAME_CHARS = 100  # metadata.name, calendar names, time zones, terms names
SHOWN = 80  # characters of a value an error message quotes at most
# A target must be reachable within 50 years of wall time (deadlines stay below the
# 64-bit ns limit in 2262, see docs/policy.md): checked against 45 years of the
# calendar's weekly open time minus its holidays; the 5 years left cover DST gaps.
REACH_YEARS, CHECKED_WEEKS = 50, 2347  # 2347 weeks = 45 years

Path = tuple[str, ...]


class PolicyError(ValueError):
    """A policy that cannot be used; says where (file, line, field path) and why."""

    def __init__(
        self, message: str, path: Path = (), line: int | None = None, source: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.source = source

    def __str__(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
            where += ": "
        field_path = ".".join(clip(part, 40) for part in self.path)
        return f"{where}{field_path + ': ' if field_path else ''}{clip(self.message, 300)}"


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    calendar: Calendar
    targets: tuple[int, int, int]  # ns, aligned with SLAS
    objectives: tuple[Fraction, Fraction, Fraction] = (Fraction(99, 100),) * 3  # aligned with SLAS


def mapping(
    value: Any, path: Path, allowed: set[str] | tuple[str, ...] | None = None
) -> dict[str, Any]:
    """``value`` as a dict with string keys, each one of ``allowed`` (when given)."""
    if not isinstance(value, Mapping):
        raise PolicyError(f"expected a mapping, got {type(value).__name__}", path)
    for key in value:
        if not isinstance(key, str):
            raise PolicyError(f"keys must be strings, got {excerpt(key, SHOWN)}", path)
        if allowed is not None and key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise PolicyError(f"unknown key {excerpt(key, SHOWN)} (expected one of: {expected})",
                              (*path, key))  # fmt: skip
    return dict(value)


def required(doc: Mapping[str, Any], key: str, path: Path) -> Any:
    if key not in doc:
        raise PolicyError(f"missing required key {key!r}", path)
    return doc[key]


def name_string(value: Any, path: Path) -> str:
    """A non-empty string of at most MAX_NAME_CHARS characters."""
    if not isinstance(value, str) or not value:
        raise PolicyError(f"expected a non-empty string, got {excerpt(value, SHOWN)}", path)
    if len(value) > MAX_NAME_CHARS:
        raise PolicyError(f"{len(value)} characters, more than {MAX_NAME_CHARS}", path)
    return value


def open_unit(value: Any, path: Path, example: str = "0.75") -> Fraction:
    """A plain decimal in (0, 1): ``0.75``. Text is parsed only when it looks like one,
    so an absurd literal (``1e-99999999``) is refused at once, not expanded exactly."""
    plain = isinstance(value, float) and math.isfinite(value)
    plain = plain or (isinstance(value, str) and _DECIMAL.match(value) is not None)
    if not plain and not (isinstance(value, int) and not isinstance(value, bool)):
        raise PolicyError(
            f"expected a number between 0 and 1 such as {example}, got {excerpt(value, SHOWN)}",
            path,
        )
    warn = Fraction(str(value)) if plain else Fraction(value)
    if not 0 < warn < 1:
        raise PolicyError(f"must be between 0 and 1 (exclusive), got {excerpt(value, SHOWN)}",
                          path)  # fmt: skip
    return warn


def _objectives(value: Any, default: Fraction, path: Path) -> tuple[Fraction, Fraction, Fraction]:
    """``objective: 0.99`` (every SLA of the priority) or ``{resolution: 0.95, ...}`` (the
    SLAs it lists; the others keep the priority's default)."""
    if isinstance(value, Mapping):
        doc = mapping(value, path, SLAS)
        found = [open_unit(doc[s], (*path, s), "0.99") if s in doc else default for s in SLAS]
        return found[0], found[1], found[2]
    objective = open_unit(value, path, "0.99")
    return objective, objective, objective


def priority_policy(
    doc: Any, path: Path, calendars: Mapping[str, Calendar], priority: str
) -> PriorityPolicy:
    """One priority's entry: ``{calendar, objective, first_response, ...}``."""
    doc = mapping(doc, path, PRIORITY_KEYS)
    calendar_name = name_string(doc.get("calendar", ALWAYS_OPEN.name), (*path, "calendar"))
    if calendar_name not in calendars:
        known = clip(", ".join(sorted(calendars)), SHOWN)
        raise PolicyError(f"unknown calendar {calendar_name!r} (defined: {known})",
                          (*path, "calendar"))  # fmt: skip
    targets = []
    for sla in SLAS:
        value = required(doc, sla, path)
        try:
            targets.append(parse_duration(value))
        except ValueError as exc:
            raise PolicyError(str(exc), (*path, sla)) from None
    _check_reach(calendars[calendar_name], targets, path)
    default = DEFAULT_OBJECTIVES[priority]
    objectives = (default, default, default)
    if "objective" in doc:
        objectives = _objectives(doc["objective"], default, (*path, "objective"))
    return PriorityPolicy(
        calendars[calendar_name], (targets[0], targets[1], targets[2]), objectives
    )


def _check_reach(calendar: Calendar, targets: list[int], path: Path) -> None:
    """Refuse a target that ``calendar`` could take more than REACH_YEARS years to give."""
    if not isinstance(calendar, WeeklyCalendar):
        return  # 24x7: a target is at most 400 days of wall time
    day_open = [sum(end - start for start, end in day) * 60 * NS_PER_S for day in calendar.week]
    weekly = sum(day_open)
    capacity = CHECKED_WEEKS * weekly - sum(day_open[d.weekday()] for d in calendar.holidays)
    for sla, target in zip(SLAS, targets, strict=True):
        if target > capacity:
            most = format_duration(capacity) if capacity > 0 else "nothing"
            raise PolicyError(
                f"{format_duration(target)} of calendar {calendar.name!r} could take more than "
                f"{REACH_YEARS} years of wall time: it is open {format_duration(weekly)} a week, "
                f"so a target on it can be at most {most}",
                (*path, sla),
            )
