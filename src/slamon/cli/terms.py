"""`slamon policy check`'s terms and calendars, and which tickets of a log match which terms."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from slamon.core.calendars import WeeklyCalendar
from slamon.core.durations import format_duration
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.terms import MATCH_ATTRIBUTES
from slamon.core.tickets import TicketFold

NO_TERMS = "(spec.priorities)"  # a ticket no entry matches


def render_calendars(policy: SlaPolicy) -> list[str]:
    """One line per named calendar: zone, holidays and make-up workdays (their range)."""
    calendars = {pp.calendar.name: pp.calendar for pp in policy.priorities.values()}
    for terms in policy.terms:
        calendars.update({pp.calendar.name: pp.calendar for pp in terms.priorities.values()})
    rows = []
    for name, calendar in sorted(calendars.items()):
        if not isinstance(calendar, WeeklyCalendar):
            continue
        line = f"calendar {name}: {calendar.timezone}, {len(calendar.holidays)} holidays"
        if calendar.holidays:
            line += f" ({min(calendar.holidays)}..{max(calendar.holidays)})"
        if calendar.workdays:
            line += (f", {len(calendar.workdays)} make-up workdays "
                     f"({min(calendar.workdays)}..{max(calendar.workdays)})")  # fmt: skip
        rows.append(line)
    return rows


def render_terms(policy: SlaPolicy) -> list[str]:
    """The terms in match order: what each matches and the targets it sets itself."""
    if not policy.terms:
        return []
    rows = ["terms (the first entry that matches a ticket gives its targets):"]
    for number, terms in enumerate(policy.terms, 1):
        match = "; ".join(f"{MATCH_ATTRIBUTES[i]} in [{', '.join(sorted(values))}]"
                          for i, values in terms.match) or "every ticket"  # fmt: skip
        rows.append(f"{number:3}. {terms.name}: {match}")
        for priority in PRIORITIES:
            if priority not in terms.named:
                continue
            pp = terms.priorities[priority]
            targets = ", ".join(f"{sla} {format_duration(pp.targets[i])}"
                                for i, sla in enumerate(SLAS))  # fmt: skip
            rows.append(f"       {priority} on {pp.calendar.name}: {targets}")
            if pp.objectives != policy.priorities[priority].objectives:
                shares = ", ".join(f"{sla} {float(o) * 100:g}%"
                                   for sla, o in zip(SLAS, pp.objectives, strict=True))  # fmt: skip
                rows.append(f"       {'':2} objective: {shares}")
        rest = [p for p in PRIORITIES if p not in terms.named]
        if rest:
            rows.append(f"       {', '.join(rest)}: as spec.priorities")
    return rows


def render_matches(policy: SlaPolicy, folds: Iterable[tuple[str, TicketFold]]) -> list[str]:
    """Each created ticket's terms (as of its last event), after a count per terms."""
    lines, counts = [], Counter[str]()
    for ticket_id, fold in folds:
        if fold.created_at is None:
            continue
        name = policy.terms_name(fold.terms) if fold.terms >= 0 else None
        shown = NO_TERMS if name is None else name
        counts[shown] += 1
        lines.append(f"{ticket_id}\t{shown}")
    order = [t.name for t in policy.terms] + [NO_TERMS]
    summary = ", ".join(f"{name} {counts[name]}" for name in order if counts[name])
    return [f"tickets by terms: {summary or 'no tickets'}", *lines]
