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
MAX_NAME_CHARS = 100  # metadata.name, calendar names, time zones, terms names
# spec.terms (docs/policy.md#terms): the ticket attributes an entry may match on, in the
# order select_terms takes them; at most MAX_TERMS entries (each ticket tries them in order)
MATCH_ATTRIBUTES = ("service", "region", "customer_tier", "product_category")
MAX_TERMS = 100
MAX_MATCH_VALUES = 1000
SHOWN = 80  # characters of a value an error message quotes at most
# A target must be reachable within 50 years of wall time (deadlines stay below the
# 64-bit ns limit in 2262, see docs/policy.md): checked against 45 years of the
# calendar's weekly open time minus its holidays; the 5 years left cover DST gaps.
REACH_YEARS, CHECKED_WEEKS = 50, 2347  # 2347 weeks = 45 years

Path = tuple[str, ...]
Rules = tuple[Calendar, tuple[int, ...], tuple[int, ...]]  # calendar, targets, at-risk points


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


@dataclass(frozen=True, slots=True)
class Terms:
    """One ``spec.terms`` entry: the ticket attributes it matches and its targets.

    ``match`` pairs an index into MATCH_ATTRIBUTES with the values allowed; ``priorities``
    holds every priority, those the entry does not name copied from ``spec.priorities``.
    """

    name: str
    match: tuple[tuple[int, frozenset[str]], ...]
    priorities: Mapping[str, PriorityPolicy]
    named: frozenset[str] = frozenset()  # the priorities the entry itself names

    def matches(self, attributes: tuple[str | None, ...]) -> bool:
        """All listed attributes equal one of their values (an empty match always holds)."""
        return all(attributes[i] in values for i, values in self.match)


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
            selected = next(
                (i for i, terms in enumerate(self.terms) if terms.matches(attributes)), -1
            )
            if len(self._selected) < _SELECTED_MAX:
                self._selected[attributes] = selected
        return selected


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
    value = _required(doc, "workday", path)
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
    doc = _mapping(doc, path, {"timezone", "weekly", "holidays", "workdays", "workday"})
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


def _match(value: Any, path: Path) -> tuple[tuple[int, frozenset[str]], ...]:
    """``{customer_tier: [gold], service: [onsite]}`` -> attribute index, allowed values."""
    doc = _mapping(value, path, MATCH_ATTRIBUTES)
    match = []
    for attribute in MATCH_ATTRIBUTES:
        if attribute not in doc:
            continue
        values = doc[attribute]
        value_path = (*path, attribute)
        if not isinstance(values, list) or not values:
            raise PolicyError(f"expected a non-empty list of values such as [gold], got "
                              f"{excerpt(values, SHOWN)}", value_path)  # fmt: skip
        if len(values) > MAX_MATCH_VALUES:
            raise PolicyError(f"at most {MAX_MATCH_VALUES} values", value_path)
        for i, item in enumerate(values):
            _string(item, (*value_path, str(i)))
            if attribute == "service" and item not in ("onsite", "remote"):
                raise PolicyError(f"a service is onsite or remote, got {excerpt(item, SHOWN)}",
                                  (*value_path, str(i)))  # fmt: skip
        match.append((MATCH_ATTRIBUTES.index(attribute), frozenset(values)))
    return tuple(match)


def _terms(
    value: Any, priorities_doc: Mapping[str, Any], base: Mapping[str, PriorityPolicy],
    calendars: Mapping[str, Calendar],
) -> tuple[Terms, ...]:  # fmt: skip
    """``spec.terms``: an ordered list of ``{name, match, priorities}``. A priority an entry
    names takes its fields, the missing ones from ``spec.priorities``; a priority it does
    not name is ``spec.priorities``' own."""
    if not isinstance(value, list):
        raise PolicyError("expected a list of terms such as [{name: gold, match: {...}, "
                          "priorities: {...}}]", ("spec", "terms"))  # fmt: skip
    if len(value) > MAX_TERMS:
        raise PolicyError(f"at most {MAX_TERMS} terms, got {len(value)}", ("spec", "terms"))
    out: list[Terms] = []
    names: set[str] = set()
    for i, entry in enumerate(value):
        path = ("spec", "terms", str(i))
        doc = _mapping(entry, path, {"name", "description", "match", "priorities"})
        name = _string(_required(doc, "name", path), (*path, "name"))
        if name in names:
            raise PolicyError(f"terms {name!r} are defined twice", (*path, "name"))
        names.add(name)
        if "description" in doc and not isinstance(doc["description"], str):
            raise PolicyError("expected text", (*path, "description"))
        match = _match(doc.get("match", {}), (*path, "match"))
        own = _mapping(doc.get("priorities", {}), (*path, "priorities"), PRIORITIES)
        priorities = dict(base)
        for priority, priority_doc in own.items():
            merged = dict(priorities_doc[priority])
            merged.update(_mapping(priority_doc, (*path, "priorities", priority),
                                   {"calendar", "objective", *SLAS}))  # fmt: skip
            priorities[priority] = _priority(merged, (*path, "priorities", priority),
                                             calendars, priority)  # fmt: skip
        out.append(Terms(name, match, priorities, frozenset(own)))
    return tuple(out)


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
                    {"warn_at", "pause", "calendars", "priorities", "quality",
                     "terms"})  # fmt: skip
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
    terms: tuple[Terms, ...] = ()
    if "terms" in spec:
        terms = _terms(spec["terms"], priorities_doc, priorities, calendars)
    return SlaPolicy(
        name=name,
        warn_at=warn_at,
        pause=_pause(spec.get("pause", ["resolution"]), ("spec", "pause")),
        priorities=priorities,
        quality=_quality(spec.get("quality", {}), ("spec", "quality")),
        terms=terms,
    )
