"""Why a ticket's SLAs are what they are: its timeline, as values the shells render.

:func:`explain` replays one ticket exactly as :func:`slamon.core.replay.replay_events`
does (the same engine, the same order, the same ``advance`` before each event), so its
statuses and alerts are the replay's. On top it walks the ticket's events once more to
say, per clock, when it ran, was paused or ran outside business hours, and which rule
decided each status. Pure: no I/O, no clock reads; times in the texts are shown in the
time zone of the ticket's calendar (UTC for ``24x7``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from slamon.core import clocks
from slamon.core import events as ev
from slamon.core.calendars import Calendar, WeeklyCalendar
from slamon.core.decisions import Alert, Outcome, Status
from slamon.core.durations import format_duration
from slamon.core.engine import Engine
from slamon.core.events import Event, InvalidEvent
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.tickets import TicketFold
from slamon.core.timefmt import NS_PER_S, format_rfc3339

RUNNING, PAUSED, CLOSED, STOPPED = "running", "paused", "outside_business_hours", "stopped"
_VOID = (Status.CANCELLED, Status.NOT_APPLICABLE)
MAX_SPANS = 1000  # spans listed per clock; a ticket open for years is cut, and says so


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a clock's life: running, paused or outside business hours."""

    start: int
    end: int
    state: str


@dataclass(slots=True)
class ClockTimeline:
    """One SLA of the ticket at ``until``: status, figures, spans and the deciding rule."""

    sla: str
    status: str
    elapsed_ns: int
    target_ns: int
    at_risk_at: int | None  # when elapsed reaches warn_at x target (None: never, so far)
    breach_at: int | None  # the first instant after which elapsed exceeds the target
    deadline: int | None  # running clocks only
    spans: list[Span] = field(default_factory=list)
    spans_cut: bool = False  # more than MAX_SPANS spans: the first ones are listed
    rule: str = ""


@dataclass(frozen=True, slots=True)
class EventLine:
    """One of the ticket's events and what it did."""

    time: int
    type: str
    id: str
    effect: str  # what it did to the clocks, or why it was ignored


@dataclass(slots=True)
class Timeline:
    """Everything :func:`explain` found out about one ticket."""

    ticket_id: str
    until: int | None
    found: bool  # the ticket has a ticket.created at or before until
    priority: str = ""
    calendar: str = ""
    timezone: str = "UTC"
    events: list[EventLine] = field(default_factory=list)
    clocks: list[ClockTimeline] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rules that apply to the whole ticket

    def local(self, ns: int | None) -> str:
        """An instant in the ticket's time zone, to the second: ``2026-11-24 10:02:00 CST``."""
        return "-" if ns is None else local_time(ns, self.timezone)

    def to_dict(self) -> dict[str, Any]:
        def t(ns: int | None) -> str | None:
            return None if ns is None else format_rfc3339(ns)

        return {
            "ticket_id": self.ticket_id,
            "until": t(self.until),
            "found": self.found,
            "priority": self.priority,
            "calendar": self.calendar,
            "timezone": self.timezone,
            "events": [{"time": t(e.time), "local_time": self.local(e.time), "type": e.type,
                        "id": e.id, "effect": e.effect} for e in self.events],
            "clocks": [
                {"sla": c.sla, "status": c.status, "elapsed_seconds": c.elapsed_ns / NS_PER_S,
                 "target_seconds": c.target_ns / NS_PER_S, "at_risk_at": t(c.at_risk_at),
                 "breach_at": t(c.breach_at), "deadline": t(c.deadline), "rule": c.rule,
                 "spans": [{"start": t(s.start), "end": t(s.end), "state": s.state}
                           for s in c.spans], "spans_cut": c.spans_cut}
                for c in self.clocks
            ],
            "alerts": [a.to_dict() for a in self.alerts],
            "notes": self.notes,
        }  # fmt: skip


def local_time(ns: int, timezone: str) -> str:
    zone = UTC if timezone == "UTC" else ZoneInfo(timezone)
    return datetime.fromtimestamp(ns // NS_PER_S, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def ticket_events(
    items: Iterable[tuple[int, Event | InvalidEvent]], policy: SlaPolicy, ticket_id: str
) -> tuple[list[Event], int | None]:
    """The ticket's processed events (the replay's duplicate rule: the first id in log
    order wins, over the whole log) and the latest processed time of the whole log."""
    admit = Engine(policy).admit
    latest: int | None = None
    found: list[Event] = []
    for _, item in items:
        if isinstance(item, InvalidEvent) or not admit(item):
            continue
        latest = item.time if latest is None else max(latest, item.time)
        if item.ticket_id == ticket_id:
            found.append(item)
    return found, latest


def explain(events: Iterable[Event], policy: SlaPolicy, until: int | None) -> Timeline:
    """The timeline of one ticket from its processed events (any order), at ``until``."""
    ordered = sorted(events, key=attrgetter("time"))  # stable: ties keep log order
    ticket_id = ordered[0].ticket_id if ordered else ""
    if until is None:
        until = max((e.time for e in ordered), default=None)
    timeline = Timeline(ticket_id, until, found=False)
    if until is None:
        return timeline
    engine = Engine(policy)
    for event in ordered:  # exactly replay's order of advance and apply
        if event.time > until:
            break
        timeline.alerts += engine.advance(event.time)
        timeline.alerts += engine.apply(event, event.time)
    timeline.alerts += engine.advance(until)
    ticket = engine.tickets.get(ticket_id)
    if ticket is None or ticket.fold.created_at is None:
        timeline.events = [EventLine(e.time, e.type, e.id, _orphan(e, until)) for e in ordered]
        return timeline
    fold = ticket.fold
    calendar, _, warns = policy.rules(fold.priority, fold.terms)  # the ticket's terms
    timeline.found = True
    timeline.priority = fold.priority
    timeline.calendar = calendar.name
    timeline.timezone = calendar.timezone if isinstance(calendar, WeeklyCalendar) else "UTC"
    outcomes = [engine.pair_outcome(ticket, i, until) for i in range(len(SLAS))]
    walk = _walk(ordered, policy, until, timeline)
    for index, outcome in enumerate(outcomes):
        spans, since = fold.clock(index)
        clock = ClockTimeline(
            sla=SLAS[index],
            status=str(outcome.status),
            elapsed_ns=outcome.elapsed_ns,
            target_ns=outcome.target_ns,
            at_risk_at=_within(
                clocks.reach(spans, since, calendar, warns[index]),
                until,
            ),
            breach_at=clocks.exceed(spans, since, calendar, outcome.target_ns),
            deadline=outcome.deadline,
        )
        if fold.in_force_mask() & (1 << index):
            clock.spans, clock.spans_cut = _spans(walk.states[index], calendar, until)
        clock.rule = _rule(timeline, fold=fold, clock=clock, outcome=outcome, walk=walk,
                           index=index)  # fmt: skip
        timeline.clocks.append(clock)
    timeline.notes = walk.notes + _priority_notes(timeline, walk)
    if fold.terms >= 0:  # spec.terms: say which entry gave the targets
        timeline.notes.append(f"terms {policy.terms_name(fold.terms)}: the first spec.terms "
                              "entry the ticket's attributes match; its targets and calendar "
                              "apply from creation")  # fmt: skip
    return timeline


def _within(instant: int | None, until: int) -> int | None:
    """An at-risk instant is reported once reached (at or before until)."""
    return instant if instant is not None and instant <= until else None


def _orphan(event: Event, until: int) -> str:
    if event.time > until:
        return "after until: not applied"
    return "ignored: the ticket has no ticket.created at or before it"


@dataclass(slots=True)
class _Walk:
    """What the second pass over the events saw."""

    # per SLA: (from, state) changes, the state holding until the next change or until
    states: list[list[tuple[int, str]]] = field(default_factory=lambda: [[], [], []])
    stopped_by: list[Event | None] = field(default_factory=lambda: [None, None, None])
    paused_since: int | None = None
    priority_changes: list[tuple[Event, str, str]] = field(default_factory=list)
    cancelled: Event | None = None
    notes: list[str] = field(default_factory=list)


def _walk(ordered: list[Event], policy: SlaPolicy, until: int, timeline: Timeline) -> _Walk:
    """Fold the events again, one by one, recording each clock's state and each effect."""
    walk = _Walk()
    fold = TicketFold(policy.pause)
    pausable = sorted(policy.pause)
    for event in ordered:
        if event.time > until:
            timeline.events.append(EventLine(event.time, event.type, event.id,
                                             "after until: not applied"))  # fmt: skip
            continue
        before = (fold.ignored, fold.priority, fold.resolved, fold.paused)
        fold.apply(event)
        if fold.ignored != before[0]:
            why = ("before the ticket's creation" if fold.created_at is None
                   else "after the cancellation" if fold.cancelled_at is not None
                   and event.type != ev.CANCELLED else "a second ticket.created")  # fmt: skip
            timeline.events.append(EventLine(event.time, event.type, event.id, f"ignored: {why}"))
            continue
        effect = _effect(event, fold, before, pausable)
        if event.type == ev.PRIORITY_CHANGED and fold.priority != before[1]:
            walk.priority_changes.append((event, before[1], fold.priority))
        if event.type == ev.CANCELLED:
            walk.cancelled = event
        walk.paused_since = event.time if fold.paused and not before[3] else (
            walk.paused_since if fold.paused else None)  # fmt: skip
        running = fold.running_mask()
        for index in range(len(SLAS)):
            state = STOPPED
            if running & (1 << index):
                state = PAUSED if fold.paused and fold.pause_mask[index] else RUNNING
            changes = walk.states[index]
            if not changes or changes[-1][1] != state:
                if state == STOPPED and changes and fold.in_force_mask() & (1 << index):
                    walk.stopped_by[index] = event
                changes.append((event.time, state))
        timeline.events.append(EventLine(event.time, event.type, event.id, effect))
    return walk


def _effect(
    event: Event, fold: TicketFold, before: tuple[int, str, bool, bool], pausable: list[str]
) -> str:
    etype = event.type
    if etype == ev.CREATED:
        starts = ("every clock starts" if fold.service == "onsite" else
                  "first_response and resolution start (onsite_arrival: onsite only)")  # fmt: skip
        return f"created, priority {fold.priority}, service {fold.service}: {starts}"
    if etype == ev.RESPONDED:
        return "first response: the first_response clock stops (later ones change nothing)"
    if etype == ev.ARRIVED:
        return "technician arrived: the onsite_arrival clock stops"
    if etype == ev.PAUSED:
        if before[3]:
            return "paused while paused: nothing changes"
        return f"paused: {', '.join(pausable) or 'no SLA'} stop(s) until ticket.resumed"
    if etype == ev.RESUMED:
        return "resumed: paused clocks run again" if before[3] else "resumed while running: nothing"
    if etype == ev.PRIORITY_CHANGED:
        if fold.priority == before[1]:
            return f"priority {fold.priority} again: nothing changes"
        return (f"priority {before[1]} -> {fold.priority}: {fold.priority}'s targets and "
                "calendar apply from creation")  # fmt: skip
    if etype == ev.RESOLVED:
        if before[2]:
            return "resolved again: no clock changes (the first-time-fix flag is updated)"
        return "resolved: the resolution clock stops"
    if etype == ev.REOPENED:
        if not before[2]:
            return "reopen of an unresolved ticket: ignored"
        return "reopened: the resolution clock runs again"
    if etype == ev.CANCELLED:
        return "cancelled: every SLA is cancelled and leaves the figures"
    if etype == ev.SURVEY:
        return f"survey score {event.score}: counts in CSAT; no clock changes"
    if etype == ev.UPDATED:
        given = [f"{key} {value}" for key in ("customer_tier", "region", "product_category")
                 if (value := getattr(event, key)) is not None]  # fmt: skip
        return (f"updated {', '.join(given) or 'nothing'}: the SLA terms are chosen again, "
                "applying from creation")  # fmt: skip
    return "no clock changes"


def _spans(
    changes: list[tuple[int, str]], calendar: Calendar, until: int
) -> tuple[list[Span], bool]:
    """The clock's running / paused spans up to ``until``, running split by the calendar
    into running (open) and outside business hours; stopped stretches are left out."""
    out: list[Span] = []
    for i, (start, state) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else until
        if state == STOPPED or end <= start:
            continue
        if state == PAUSED:
            out.append(Span(start, end, PAUSED))
            continue
        at = start
        for lo, hi in calendar.open_spans(start, end):
            if lo > at:
                out.append(Span(at, lo, CLOSED))
            out.append(Span(lo, hi, RUNNING))
            at = hi
            if len(out) > MAX_SPANS:
                return out[:MAX_SPANS], True
        if at < end:
            out.append(Span(at, end, CLOSED))
    return (out[:MAX_SPANS], True) if len(out) > MAX_SPANS else (out, False)


def _rule(
    timeline: Timeline,
    *,
    fold: TicketFold,
    clock: ClockTimeline,
    outcome: Outcome,
    walk: _Walk,
    index: int,
) -> str:
    """The rule of docs/contract.md ("Status at T") that decided the clock's status."""
    text = _status_rule(timeline, fold, clock, outcome, walk, index)
    if walk.priority_changes and outcome.status not in _VOID:
        text += f" ({fold.priority}'s target, applied from creation)"
    return text


def _status_rule(  # noqa: PLR0917
    timeline: Timeline,
    fold: TicketFold,
    clock: ClockTimeline,
    outcome: Outcome,
    walk: _Walk,
    index: int,
) -> str:
    elapsed, target = format_duration(clock.elapsed_ns), format_duration(clock.target_ns)
    local = timeline.local
    if outcome.status == Status.CANCELLED:
        at = walk.cancelled.time if walk.cancelled is not None else fold.cancelled_at
        return f"cancelled at {local(at)}: a cancelled ticket's SLAs are all cancelled"
    if outcome.status == Status.NOT_APPLICABLE:
        return f"not applicable: onsite_arrival applies to onsite service, not {fold.service}"
    stop = walk.stopped_by[index]
    stopped = f"stopped at {local(stop.time)} by {stop.type}" if stop is not None else "stopped"
    if outcome.status == Status.BREACHED:
        when = f"breach at {local(clock.breach_at)}"
        if outcome.stopped:
            return f"breached: {stopped} with elapsed {elapsed} > target {target}; {when}"
        return f"breached: still running at until, elapsed {elapsed} > target {target}; {when}"
    if outcome.status == Status.MET:
        return f"met: {stopped} with elapsed {elapsed} <= target {target}"
    if clock.deadline is None:
        since = local(walk.paused_since)
        return (f"open: paused since {since}, elapsed {elapsed} <= target {target}; "
                "no deadline while paused")  # fmt: skip
    return (f"open: running, elapsed {elapsed} <= target {target} at until; deadline "
            f"{local(clock.deadline)} if it keeps running")  # fmt: skip


def _priority_notes(timeline: Timeline, walk: _Walk) -> list[str]:
    """A priority change rewrites the clocks from creation: say what that did to breaches."""
    notes = []
    for event, old, new in walk.priority_changes:
        breaches = [
            f"{c.sla} breach at {timeline.local(c.breach_at)} (before the event)"
            for c in timeline.clocks
            if c.breach_at is not None and c.breach_at < event.time and c.status == "breached"
        ]
        text = (f"priority {old} -> {new} at {timeline.local(event.time)}: {new} targets "
                "applied from creation")  # fmt: skip
        notes.append(text + (", " + ", ".join(breaches) if breaches else ""))
    return notes
