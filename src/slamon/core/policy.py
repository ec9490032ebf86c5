"""The SLA policy: targets per priority, business calendars, what a pause stops.

``policy_from_dict`` validates a plain document (as loaded from YAML or JSON)
strictly: unknown keys, missing priorities and malformed values are errors that
name the field path, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from slamon.core.calendars import ALWAYS_OPEN, Calendar, WeeklyCalendar
from slamon.core.durations import format_duration, parse_duration
from slamon.core.text import clip, excerpt
from slamon.core.timefmt import NS_PER_S

SLAS = ("first_response", "onsite_arrival", "resolution")
PRIORITIES = ("P1", "P2", "P3", "P4")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
API_VERSION = "slamon/v1"
KIND = "SlaPolicy"
DEFAULT_WARN_AT = Fraction(3, 4)
# The share of SLAs that must be met, per priority, when the policy names none
# (docs/policy.md#objectives): the Prometheus rules' objectives and error budgets.
DEFAULT_OBJECTIVES = {"P1": Fraction(99, 100), "P2": Fraction(98, 100),
                      "P3": Fraction(95, 100), "P4": Fraction(90, 100)}  # fmt: skip

# Quality figures (docs/contract.md, "Quality"): the repeat-failure window (wall-clock
# time) and the CSAT baselines per product category, the standard's industry averages.
DEFAULT_REPEAT_WINDOW_NS = 30 * 24 * 3600 * NS_PER_S
DEFAULT_CSAT_BASELINES = {"appliance": 8.5, "car": 8.2, "electronics": 8.7}

_INTERVAL = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})\Z")  # ASCII digits only
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DECIMAL = re.compile(r"[0-9]{0,3}\.[0-9]{1,15}\Z")  # warn_at as text: a plain decimal
MAX_NAME_CHARS = 100  # metadata.name, calendar names, time zones
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


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """``spec.quality``: the repeat-failure window and the CSAT baselines per category."""

    repeat_window_ns: int = DEFAULT_REPEAT_WINDOW_NS
    csat_baselines: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CSAT_BASELINES)
    )


@dataclass(frozen=True)
class SlaPolicy:
    """A validated policy; lookups used on the hot path are precomputed."""

    name: str
    warn_at: Fraction
    pause: frozenset[str]
    priorities: Mapping[str, PriorityPolicy]
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    _targets: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)
    _warns: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)
    _rules: dict[str, tuple[Calendar, tuple[int, ...], tuple[int, ...]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        targets = {(p, sla): pp.targets[i] for p, pp in self.priorities.items()
                   for i, sla in enumerate(SLAS)}  # fmt: skip
        warns = {key: math.ceil(self.warn_at * target) for key, target in targets.items()}
        object.__setattr__(self, "_targets", targets)  # frozen: set once, here
        object.__setattr__(self, "_warns", warns)
        rules = {p: (pp.calendar, pp.targets, tuple(warns[(p, sla)] for sla in SLAS))
                 for p, pp in self.priorities.items()}  # fmt: skip
        object.__setattr__(self, "_rules", rules)

    def target_ns(self, priority: str, sla: str) -> int:
        return self._targets[(priority, sla)]

    def warn_ns(self, priority: str, sla: str) -> int:
        """Elapsed time at which the pair is at risk: ceil(warn_at x target)."""
        return self._warns[(priority, sla)]

    def calendar(self, priority: str) -> Calendar:
        return self.priorities[priority].calendar

    def objective(self, priority: str, sla: str) -> Fraction:
        """The share of the pair's SLAs that must be met, in (0, 1): ``99/100``."""
        return self.priorities[priority].objectives[SLAS.index(sla)]

    def rules(self, priority: str) -> tuple[Calendar, tuple[int, ...], tuple[int, ...]]:
        """Calendar, targets and at-risk points (aligned with SLAS) in one lookup."""
        return self._rules[priority]


# -- validation helpers ----------------------------------------------------------------
def _mapping(
    value: Any, path: Path, allowed: set[str] | tuple[str, ...] | None = None
) -> dict[str, Any]:
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


def _required(doc: Mapping[str, Any], key: str, path: Path) -> Any:
    if key not in doc:
        raise PolicyError(f"missing required key {key!r}", path)
    return doc[key]


def _string(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"expected a non-empty string, got {excerpt(value, SHOWN)}", path)
    if len(value) > MAX_NAME_CHARS:
        raise PolicyError(f"{len(value)} characters, more than {MAX_NAME_CHARS}", path)
    return value


def _minute(hours: str, minutes: str) -> int:
    return int(hours) * 60 + int(minutes)


def parse_interval(text: Any, path: Path) -> tuple[int, int]:
    """``"09:00-12:00"`` -> minutes of the day ``(540, 720)``; 24:00 only as an end."""
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if match is None:
        raise PolicyError(
            f"expected an interval such as '09:00-18:00', got {excerpt(text, SHOWN)}", path
        )
    h1, m1, h2, m2 = match.groups()
    if int(m1) > 59 or int(m2) > 59 or int(h1) > 23 or int(h2) > 24:
        raise PolicyError(f"no such time of day in {text!r}", path)
    start, end = _minute(h1, m1), _minute(h2, m2)
    if end > 24 * 60:
        raise PolicyError(f"24:00 is the latest end, got {text!r}", path)
    if end <= start:
        raise PolicyError(
            f"end must be after start in {text!r} (split intervals that cross midnight)", path
        )
    return start, end


def _holiday(value: Any, path: Path) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(f"expected a date YYYY-MM-DD, got {excerpt(value, SHOWN)}", path)


def _calendar(name: str, doc: Any, path: Path) -> WeeklyCalendar:
    doc = _mapping(doc, path, {"timezone", "weekly", "holidays"})
    timezone = _string(_required(doc, "timezone", path), (*path, "timezone"))
    weekly_doc = _mapping(_required(doc, "weekly", path), (*path, "weekly"), WEEKDAYS)
    weekly: dict[int, list[tuple[int, int]]] = {}
    for day, intervals in weekly_doc.items():
        day_path = (*path, "weekly", day)
        if not isinstance(intervals, list):
            raise PolicyError("expected a list of intervals such as ['09:00-18:00']", day_path)
        weekly[WEEKDAYS.index(day)] = [
            parse_interval(item, (*day_path, str(i))) for i, item in enumerate(intervals)
        ]
    holidays_doc = doc.get("holidays", [])
    if not isinstance(holidays_doc, list):
        raise PolicyError("expected a list of dates", (*path, "holidays"))
    holidays = [_holiday(v, (*path, "holidays", str(i))) for i, v in enumerate(holidays_doc)]
    try:
        return WeeklyCalendar(name, timezone, weekly, holidays)
    except ValueError as exc:
        key = "timezone" if "zone" in str(exc) else "weekly"
        raise PolicyError(str(exc), (*path, key)) from None


def _open_unit(value: Any, path: Path, example: str = "0.75") -> Fraction:
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


def _pause(value: Any, path: Path) -> frozenset[str]:
    if not isinstance(value, list):
        raise PolicyError(f"expected a list of SLA names, got {excerpt(value, SHOWN)}", path)
    for i, item in enumerate(value):
        if item not in SLAS:
            raise PolicyError(f"unknown SLA {excerpt(item, SHOWN)} (expected one of: "
                              f"{', '.join(SLAS)})",
                              (*path, str(i)))  # fmt: skip
    return frozenset(value)


def _objectives(value: Any, default: Fraction, path: Path) -> tuple[Fraction, Fraction, Fraction]:
    """``objective: 0.99`` (every SLA of the priority) or ``{resolution: 0.95, ...}`` (the
    SLAs it lists; the others keep the priority's default)."""
    if isinstance(value, Mapping):
        doc = _mapping(value, path, SLAS)
        found = [_open_unit(doc[s], (*path, s), "0.99") if s in doc else default for s in SLAS]
        return found[0], found[1], found[2]
    objective = _open_unit(value, path, "0.99")
    return objective, objective, objective


def _priority(
    doc: Any, path: Path, calendars: Mapping[str, Calendar], priority: str
) -> PriorityPolicy:
    doc = _mapping(doc, path, {"calendar", "objective", *SLAS})
    calendar_name = _string(doc.get("calendar", ALWAYS_OPEN.name), (*path, "calendar"))
    if calendar_name not in calendars:
        known = clip(", ".join(sorted(calendars)), SHOWN)
        raise PolicyError(f"unknown calendar {calendar_name!r} (defined: {known})",
                          (*path, "calendar"))  # fmt: skip
    targets = []
    for sla in SLAS:
        value = _required(doc, sla, path)
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


def _baseline(value: Any, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 10:
        raise PolicyError(f"expected a score between 1 and 10 such as 8.5, got "
                          f"{excerpt(value, SHOWN)}", path)  # fmt: skip
    return float(value)


def _quality(value: Any, path: Path) -> QualityPolicy:
    """``{repeat_window: 30d, csat_baselines: {appliance: 8.5, ...}}``, both optional; a
    ``csat_baselines`` mapping replaces the defaults (an empty one: no baselines)."""
    doc = _mapping(value, path, {"repeat_window", "csat_baselines"})
    window = DEFAULT_REPEAT_WINDOW_NS
    if "repeat_window" in doc:
        try:
            window = parse_duration(doc["repeat_window"])
        except ValueError as exc:
            raise PolicyError(str(exc), (*path, "repeat_window")) from None
    baselines = dict(DEFAULT_CSAT_BASELINES)
    if "csat_baselines" in doc:
        base_path = (*path, "csat_baselines")
        found = _mapping(doc["csat_baselines"], base_path)
        baselines = {}
        for category, score in found.items():
            _string(category, base_path)
            baselines[category] = _baseline(score, (*base_path, category))
    return QualityPolicy(window, baselines)


def policy_from_dict(document: Any) -> SlaPolicy:
    """Validate a policy document and build the :class:`SlaPolicy`."""
    doc = _mapping(document, (), {"apiVersion", "kind", "metadata", "spec"})
    if _required(doc, "apiVersion", ()) != API_VERSION:
        raise PolicyError(f"expected {API_VERSION!r}, got {excerpt(doc['apiVersion'], SHOWN)}",
                          ("apiVersion",))  # fmt: skip
    if _required(doc, "kind", ()) != KIND:
        raise PolicyError(f"expected {KIND!r}, got {excerpt(doc['kind'], SHOWN)}", ("kind",))
    metadata = _mapping(_required(doc, "metadata", ()), ("metadata",),
                        {"name", "description", "labels"})  # fmt: skip
    name = _string(_required(metadata, "name", ("metadata",)), ("metadata", "name"))
    spec = _mapping(_required(doc, "spec", ()), ("spec",),
                    {"warn_at", "pause", "calendars", "priorities", "quality"})  # fmt: skip
    calendars: dict[str, Calendar] = {ALWAYS_OPEN.name: ALWAYS_OPEN}
    for cal_name, cal_doc in _mapping(spec.get("calendars", {}), ("spec", "calendars")).items():
        path = ("spec", "calendars", cal_name)
        if cal_name == ALWAYS_OPEN.name:
            raise PolicyError("'24x7' is built in and cannot be redefined", path)
        if len(cal_name) > MAX_NAME_CHARS:
            raise PolicyError(f"a calendar name has at most {MAX_NAME_CHARS} characters", path)
        calendars[cal_name] = _calendar(cal_name, cal_doc, path)
    priorities_doc = _mapping(_required(spec, "priorities", ("spec",)), ("spec", "priorities"),
                              PRIORITIES)  # fmt: skip
    priorities = {}
    for priority in PRIORITIES:
        path = ("spec", "priorities", priority)
        priorities[priority] = _priority(
            _required(priorities_doc, priority, ("spec", "priorities")), path, calendars, priority
        )
    warn_at = DEFAULT_WARN_AT
    if "warn_at" in spec:
        warn_at = _open_unit(spec["warn_at"], ("spec", "warn_at"))
    return SlaPolicy(
        name=name,
        warn_at=warn_at,
        pause=_pause(spec.get("pause", ["resolution"]), ("spec", "pause")),
        priorities=priorities,
        quality=_quality(spec.get("quality", {}), ("spec", "quality")),
    )
