"""The SLA policy: targets per priority, business calendars, what a pause stops.

``policy_from_dict`` validates a plain document (as loaded from YAML or JSON)
strictly: unknown keys, missing priorities and malformed values are errors that
name the field path, so a typo never silently falls back to a default. The checks
shared with ``spec.terms`` are in core/policy_fields.py, the terms in core/terms.py.
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
from slamon.core.durations import parse_duration
from slamon.core.policy_fields import (
    MAX_NAME_CHARS,
    PRIORITIES,
    SHOWN,
    SLAS,
    Path,
    PolicyError,
    PriorityPolicy,
    mapping,
    name_string,
    open_unit,
    priority_policy,
    required,
)
from slamon.core.terms import MATCH_ATTRIBUTES, Terms, first_match, terms_from_doc
from slamon.core.text import excerpt
from slamon.core.timefmt import NS_PER_S

# SLAS, PRIORITIES, PolicyError (core/policy_fields.py) and MATCH_ATTRIBUTES (core/terms.py)
# are the policy's vocabulary: callers import them from here
__all__ = [
    "MATCH_ATTRIBUTES", "PRIORITIES", "SLAS", "PolicyError", "QualityPolicy", "SlaPolicy",
    "parse_interval", "policy_from_dict",
]  # fmt: skip

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
API_VERSION = "slamon/v1"
KIND = "SlaPolicy"
DEFAULT_WARN_AT = Fraction(3, 4)

# Quality figures (docs/contract.md, "Quality"): the repeat-failure window (wall-clock
# time) and the CSAT baselines per product category, the standard's industry averages.
DEFAULT_REPEAT_WINDOW_NS = 30 * 24 * 3600 * NS_PER_S
DEFAULT_CSAT_BASELINES = {"appliance": 8.5, "car": 8.2, "electronics": 8.7}

_INTERVAL = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})\Z")  # ASCII digits only
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")

Rules = tuple[Calendar, tuple[int, ...], tuple[int, ...]]  # calendar, targets, at-risk points


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """``spec.quality``: the repeat-failure window and the CSAT baselines per category."""

    repeat_window_ns: int = DEFAULT_REPEAT_WINDOW_NS
    csat_baselines: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CSAT_BASELINES)
    )


_SELECTED_MAX = 1 << 14  # attribute combinations whose terms a policy remembers


@dataclass(frozen=True)
class SlaPolicy:
    """A validated policy; lookups used on the hot path are precomputed."""

    name: str
    warn_at: Fraction
    pause: frozenset[str]
    priorities: Mapping[str, PriorityPolicy]
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    terms: tuple[Terms, ...] = ()
    _targets: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)
    _warns: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)
    _rules: dict[str, tuple[Calendar, tuple[int, ...], tuple[int, ...]]] = field(
        init=False, repr=False, compare=False
    )
    # per terms index, spec.priorities' rules last: index -1 (no terms) is the base table
    _table: tuple[dict[str, tuple[Calendar, tuple[int, ...], tuple[int, ...]]], ...] = field(
        init=False, repr=False, compare=False
    )
    _names: tuple[str | None, ...] = field(init=False, repr=False, compare=False)
    # select_terms' answers by attributes (few distinct ones; bounded like events.shared)
    _selected: dict[tuple[str | None, ...], int] = field(
        init=False, repr=False, compare=False, default_factory=dict
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
        tables = [
            {p: (pp.calendar, pp.targets, tuple(math.ceil(self.warn_at * t) for t in pp.targets))
             for p, pp in terms.priorities.items()}
            for terms in self.terms
        ]  # fmt: skip
        object.__setattr__(self, "_table", (*tables, rules))
        object.__setattr__(self, "_names", (*(t.name for t in self.terms), None))

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

    def rules(
        self, priority: str, terms: int = -1
    ) -> tuple[Calendar, tuple[int, ...], tuple[int, ...]]:
        """Calendar, targets and at-risk points (aligned with SLAS) in one lookup, of the
        terms with index ``terms`` (-1: none matched, ``spec.priorities``)."""
        return self._table[terms][priority]

    def rule_table(self) -> tuple[Mapping[str, Rules], ...]:
        """:meth:`rules` as a table for the engine's hot path: ``table[terms][priority]``."""
        return self._table

    def terms_names(self) -> tuple[str | None, ...]:
        """The terms' names by index, None last: ``names[-1]`` is no terms."""
        return self._names

    def terms_name(self, terms: int) -> str | None:
        """The name of the terms with index ``terms``; None for -1 (``spec.priorities``)."""
        return self._names[terms]

    def select_terms(
        self,
        service: str | None,
        region: str | None,
        customer_tier: str | None,
        product_category: str | None,
    ) -> int:
        """The index of the first ``spec.terms`` entry that matches the attributes; -1
        when none does (then ``spec.priorities`` applies)."""
        attributes = (service, region, customer_tier, product_category)
        selected = self._selected.get(attributes)
        if selected is None:
            selected = first_match(self.terms, attributes)
            if len(self._selected) < _SELECTED_MAX:
                self._selected[attributes] = selected
        return selected


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


def _dates(doc: Mapping[str, Any], key: str, path: Path) -> list[date]:
    value = doc.get(key, [])
    if isinstance(value, Mapping) and key == "holidays":
        raise PolicyError("official holidays ({country: CN, years: ...}) are read by the policy "
                          "loader (slamon.adapters.policy_yaml), not from a plain document",
                          (*path, key))  # fmt: skip
    if not isinstance(value, list):
        raise PolicyError("expected a list of dates", (*path, key))
    return [_holiday(v, (*path, key, str(i))) for i, v in enumerate(value)]


def _workday(doc: Mapping[str, Any], week: Mapping[int, list[tuple[int, int]]],
             path: Path) -> list[tuple[int, int]]:  # fmt: skip
    """``workday: mon`` (that weekday's intervals) or ``workday: ['09:00-17:00']``."""
    value = required(doc, "workday", path)
    day_path = (*path, "workday")
    if isinstance(value, str):
        if value not in WEEKDAYS:
            raise PolicyError(f"expected a weekday ({', '.join(WEEKDAYS)}) or a list of "
                              f"intervals, got {excerpt(value, SHOWN)}", day_path)  # fmt: skip
        intervals = week.get(WEEKDAYS.index(value), [])
        if not intervals:
            raise PolicyError(f"{value} has no open interval in weekly", day_path)
        return list(intervals)
    if not isinstance(value, list) or not value:
        raise PolicyError("expected a weekday such as mon or a list of intervals such as "
                          "['09:00-18:00']", day_path)  # fmt: skip
    return [parse_interval(item, (*day_path, str(i))) for i, item in enumerate(value)]


def _calendar(name: str, doc: Any, path: Path) -> WeeklyCalendar:
    doc = mapping(doc, path, {"timezone", "weekly", "holidays", "workdays", "workday"})
    timezone = name_string(required(doc, "timezone", path), (*path, "timezone"))
    weekly_doc = mapping(required(doc, "weekly", path), (*path, "weekly"), WEEKDAYS)
    weekly: dict[int, list[tuple[int, int]]] = {}
    for day, intervals in weekly_doc.items():
        day_path = (*path, "weekly", day)
        if not isinstance(intervals, list):
            raise PolicyError("expected a list of intervals such as ['09:00-18:00']", day_path)
        weekly[WEEKDAYS.index(day)] = [
            parse_interval(item, (*day_path, str(i))) for i, item in enumerate(intervals)
        ]
    holidays = _dates(doc, "holidays", path)
    workdays = _dates(doc, "workdays", path)  # make-up working days, open with `workday`
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise PolicyError(f"{both[0].isoformat()} is both a holiday and a workday",
                          (*path, "workdays"))  # fmt: skip
    workday = _workday(doc, weekly, path) if workdays or "workday" in doc else []
    try:
        return WeeklyCalendar(name, timezone, weekly, holidays, workdays=workdays,
                              workday=workday)  # fmt: skip
    except ValueError as exc:
        key = "timezone" if "zone" in str(exc) else "weekly"
        raise PolicyError(str(exc), (*path, key)) from None


def _pause(value: Any, path: Path) -> frozenset[str]:
    if not isinstance(value, list):
        raise PolicyError(f"expected a list of SLA names, got {excerpt(value, SHOWN)}", path)
    for i, item in enumerate(value):
        if item not in SLAS:
            raise PolicyError(f"unknown SLA {excerpt(item, SHOWN)} (expected one of: "
                              f"{', '.join(SLAS)})",
                              (*path, str(i)))  # fmt: skip
    return frozenset(value)


def _baseline(value: Any, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 10:
        raise PolicyError(f"expected a score between 1 and 10 such as 8.5, got "
                          f"{excerpt(value, SHOWN)}", path)  # fmt: skip
    return float(value)


def _quality(value: Any, path: Path) -> QualityPolicy:
    """``{repeat_window: 30d, csat_baselines: {appliance: 8.5, ...}}``, both optional; a
    ``csat_baselines`` mapping replaces the defaults (an empty one: no baselines)."""
    doc = mapping(value, path, {"repeat_window", "csat_baselines"})
    window = DEFAULT_REPEAT_WINDOW_NS
    if "repeat_window" in doc:
        try:
            window = parse_duration(doc["repeat_window"])
        except ValueError as exc:
            raise PolicyError(str(exc), (*path, "repeat_window")) from None
    baselines = dict(DEFAULT_CSAT_BASELINES)
    if "csat_baselines" in doc:
        base_path = (*path, "csat_baselines")
        found = mapping(doc["csat_baselines"], base_path)
        baselines = {}
        for category, score in found.items():
            name_string(category, base_path)
            baselines[category] = _baseline(score, (*base_path, category))
    return QualityPolicy(window, baselines)


def policy_from_dict(document: Any) -> SlaPolicy:
    """Validate a policy document and build the :class:`SlaPolicy`."""
    doc = mapping(document, (), {"apiVersion", "kind", "metadata", "spec"})
    if required(doc, "apiVersion", ()) != API_VERSION:
        raise PolicyError(f"expected {API_VERSION!r}, got {excerpt(doc['apiVersion'], SHOWN)}",
                          ("apiVersion",))  # fmt: skip
    if required(doc, "kind", ()) != KIND:
        raise PolicyError(f"expected {KIND!r}, got {excerpt(doc['kind'], SHOWN)}", ("kind",))
    metadata = mapping(required(doc, "metadata", ()), ("metadata",),
                       {"name", "description", "labels"})  # fmt: skip
    name = name_string(required(metadata, "name", ("metadata",)), ("metadata", "name"))
    spec = mapping(required(doc, "spec", ()), ("spec",),
                   {"warn_at", "pause", "calendars", "priorities", "quality",
                    "terms"})  # fmt: skip
    calendars: dict[str, Calendar] = {ALWAYS_OPEN.name: ALWAYS_OPEN}
    for cal_name, cal_doc in mapping(spec.get("calendars", {}), ("spec", "calendars")).items():
        path = ("spec", "calendars", cal_name)
        if cal_name == ALWAYS_OPEN.name:
            raise PolicyError("'24x7' is built in and cannot be redefined", path)
        if len(cal_name) > MAX_NAME_CHARS:
            raise PolicyError(f"a calendar name has at most {MAX_NAME_CHARS} characters", path)
        calendars[cal_name] = _calendar(cal_name, cal_doc, path)
    priorities_doc = mapping(required(spec, "priorities", ("spec",)), ("spec", "priorities"),
                             PRIORITIES)  # fmt: skip
    priorities = {}
    for priority in PRIORITIES:
        path = ("spec", "priorities", priority)
        priorities[priority] = priority_policy(
            required(priorities_doc, priority, ("spec", "priorities")), path, calendars, priority
        )
    warn_at = DEFAULT_WARN_AT
    if "warn_at" in spec:
        warn_at = open_unit(spec["warn_at"], ("spec", "warn_at"))
    terms: tuple[Terms, ...] = ()
    if "terms" in spec:
        terms = terms_from_doc(spec["terms"], priorities_doc, priorities, calendars)
    return SlaPolicy(
        name=name,
        warn_at=warn_at,
        pause=_pause(spec.get("pause", ["resolution"]), ("spec", "pause")),
        priorities=priorities,
        quality=_quality(spec.get("quality", {}), ("spec", "quality")),
        terms=terms,
    )
