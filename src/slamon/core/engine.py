"""The SLA engine: events in, alerts and outcomes out. No I/O, no clock reads.

Both shells drive it the same way: ``advance(now)`` fires what fell due before
``now`` even if no event arrived, ``apply(event, now)`` folds an event in and
re-evaluates that ticket. Replay passes event time as ``now``; the Kafka worker
passes the wall clock. One code path decides in both, so their answers agree.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Iterator, Sequence

from slamon.core import clocks
from slamon.core.calendars import Calendar
from slamon.core.clocks import Spans
from slamon.core.decisions import DUPLICATE, Alert, AlertType, Outcome, Rejected, Status, alert_id
from slamon.core.events import Event
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.tickets import ALL_SLAS, TicketFold

_COMPACT_SLACK = 1024  # a small schedule is never worth compacting


def event_order(event: Event) -> tuple[int, int]:
    """A ticket's history is sorted by this: time, then position in the log."""
    return event.time, event.seq


def _deadline(spans: Spans, since: int | None, calendar: Calendar, target: int) -> int | None:
    """When a running clock's elapsed reaches ``target``; None when stopped."""
    return clocks.reach(spans, since, calendar, target) if since is not None else None


# members bound once: an enum member lookup costs ~100 ns on Python 3.11, a global ~10 ns
_ALERT_AT_RISK, _ALERT_BREACHED = AlertType.AT_RISK, AlertType.BREACHED
_ALERT_RETRACTED = AlertType.RETRACTED
_STATUS_MET, _STATUS_BREACHED, _STATUS_OPEN = Status.MET, Status.BREACHED, Status.OPEN
_STATUS_NOT_APPLICABLE, _STATUS_CANCELLED = Status.NOT_APPLICABLE, Status.CANCELLED
_NO_BREACH = (0, 0, 0)
# "no instant": pending alert instants are plain ints, never None, since a compiled core
# (mypyc) keeps an int attribute in the object and boxes an optional one separately, four
# objects a ticket more; instants are never negative (the contract's range starts in 1970)
NO_INSTANT = -1
# a NamedTuple from all its fields in order, without its Python-level __new__ (~0.3 µs)
_record = tuple.__new__
_SLA_INDICES = tuple(range(len(SLAS)))


class Ticket:
    """A ticket's events (sorted), its folded state and what was already alerted."""

    __slots__ = (
        "due", "events", "final_since", "fold", "generation", "id", "pending0", "pending1",
        "pending2", "risk_sent", "settled", "shard", "standing",
    )  # fmt: skip

    def __init__(self, ticket_id: str, pause: frozenset[str]) -> None:
        self.id = ticket_id
        # tuples, not lists: smaller, and a ticket rarely has more than a handful of events
        self.events: tuple[Event, ...] = ()
        self.fold = TicketFold(pause)
        self.due = NO_INSTANT  # the earliest pending alert instant, if scheduled
        # the next alert instant per SLA: three slots, not a tuple (48 bytes less a ticket)
        self.pending0 = NO_INSTANT
        self.pending1 = NO_INSTANT
        self.pending2 = NO_INSTANT
        # bit i for SLAS[i]: ints, not lists, since a worker holds a million tickets
        self.risk_sent = 0  # the at-risk alert was emitted
        self.standing = 0  # a breach alert stands (not retracted)
        self.generation: tuple[int, int, int] = _NO_BREACH  # breach counts, for alert ids
        # used by the live engine only
        self.shard = 0  # the adapter's routing tag (the Kafka partition)
        self.settled = 0  # mask of SLAs whose final outcome was reported
        self.final_since: int | None = None  # when every SLA became final


def later_generation(mine: Sequence[int], theirs: Sequence[int]) -> tuple[int, int, int]:
    """Breach counts per SLA merged from two accounts of what was said: never back."""
    return (max(mine[0], theirs[0]), max(mine[1], theirs[1]), max(mine[2], theirs[2]))


class Engine:
    """Keeps every ticket's SLA clocks and decides alerts and outcomes."""

    def __init__(self, policy: SlaPolicy) -> None:
        self.policy = policy
        self._terms = bool(policy.terms)  # without spec.terms every ticket keeps index -1
        # policy.rules(priority, terms) and terms_name(terms) as plain lookups (hot path)
        self._rules = policy.rule_table()
        self._names = policy.terms_names()
        self.tickets: dict[str, Ticket] = {}
        self.duplicates = 0
        self._seen: set[str] = set()
        self._schedule: list[tuple[int, str]] = []  # heap of (due, ticket id), lazily invalidated
        # instants at or after the horizon are never advanced past (a replay's ``until``):
        # they stay a ticket's ``due`` but get no schedule entry. None: no horizon (a worker)
        self.horizon: int | None = None

    # -- input -------------------------------------------------------------------------
    def admit(self, event: Event) -> bool:
        """Deduplicate by event id: the first valid occurrence wins."""
        if event.id in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(event.id)
        return True

    def apply(self, event: Event, now: int) -> list[Alert]:
        """Fold an admitted event into its ticket and re-evaluate the ticket at ``now``."""
        ticket = self.tickets.get(event.ticket_id) or self.ticket(event.ticket_id)
        return self.apply_to(ticket, event, now)

    def apply_to(self, ticket: Ticket, event: Event, now: int) -> list[Alert]:
        """``apply`` for a caller that holds the event's ticket already."""
        changed = self._fold(ticket, event)
        return self._evaluate(ticket, now, changed) if changed else []

    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket with this id, created empty on first sight."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            ticket = self.tickets[ticket_id] = Ticket(ticket_id, self.policy.pause)
        return ticket

    def _fold(self, ticket: Ticket, event: Event) -> int:
        """Add ``event`` to the ticket's history; the mask of SLAs it may have changed."""
        events = ticket.events
        last = events[-1] if events else None
        if (
            last is None
            or event.time > last.time
            or (event.time == last.time and event.seq >= last.seq)
        ):
            ticket.events = (*events, event)
            changed = ticket.fold.apply(event)
            if self._terms and changed == ALL_SLAS:  # created, updated, priority, cancel
                ticket.fold.select_terms(self.policy)
            return changed
        # late: rebuild from the sorted history, as if it had come in order
        history = list(events)
        insort(history, event, key=event_order)
        ticket.events = tuple(history)
        fold = ticket.fold = TicketFold(self.policy.pause)
        for earlier in history:
            fold.apply(earlier)
        if self._terms:
            fold.select_terms(self.policy)
        return ALL_SLAS

    def ingest(self, event: Event, now: int) -> list[Alert] | Rejected:
        """``admit`` then ``apply``; :data:`~slamon.core.decisions.DUPLICATE` for a duplicate."""
        return self.apply(event, now) if self.admit(event) else DUPLICATE

    def advance(self, now: int) -> list[Alert]:
        """Emit every alert whose instant lies strictly before ``now``."""
        alerts: list[Alert] = []
        heap = self._schedule
        while heap and heap[0][0] < now:
            due, ticket_id = heapq.heappop(heap)
            ticket = self.tickets.get(ticket_id)
            if ticket is None or ticket.due != due:
                continue  # superseded by a later evaluation
            alerts.extend(self.fire_due(ticket))
        return alerts

    def fire_due(self, ticket: Ticket) -> list[Alert]:
        """Emit what falls due at the ticket's ``due`` (which must be set), evaluated just
        after it: the ticket's own step of ``advance``."""
        due = ticket.due
        ticket.due = NO_INSTANT
        # just after `due`: emits in instant order, events of this ticket are all <= due
        changed = (
            (1 if ticket.pending0 == due else 0)
            | (2 if ticket.pending1 == due else 0)
            | (4 if ticket.pending2 == due else 0)
        )
        return self._evaluate(ticket, due + 1, changed)

    def next_due(self) -> int | None:
        """The earliest instant at which ``advance`` may have something to emit."""
        return self._schedule[0][0] if self._schedule else None

    def has_due_before(self, now: int) -> bool:
        """Whether ``advance(now)`` may have something to emit (cheap: a heap peek)."""
        heap = self._schedule
        return bool(heap) and heap[0][0] < now

    # -- decisions ---------------------------------------------------------------------
    def _evaluate(self, ticket: Ticket, now: int, changed: int) -> list[Alert]:
        """Emit what is due before ``now`` for the SLAs in ``changed``; schedule the rest.

        An at-risk point counts once reached (instant <= now); a breach once passed
        (instant < now), since at the breach instant elapsed still equals the target.
        """
        fold = ticket.fold
        if fold.created_at is None:
            return []
        alerts: list[Alert] = []
        calendar, targets, warns = self._rules[fold.terms][fold.priority]
        in_force = fold.in_force_mask()
        pending = [ticket.pending0, ticket.pending1, ticket.pending2]
        for index in range(3):
            bit = 1 << index
            if not changed & bit:
                continue
            pending[index] = NO_INSTANT
            if not in_force & bit:
                if ticket.standing & bit:
                    alerts.append(self._alert(ticket, index, _ALERT_RETRACTED, None, now))
                continue
            spans, since = fold.clock(index)
            target = targets[index]
            nxt: int | None = None
            if not ticket.risk_sent & bit:
                warn = warns[index]
                risk_at = clocks.reach(spans, since, calendar, warn)
                if risk_at is not None and risk_at <= now:
                    deadline = _deadline(spans, since, calendar, target)
                    alerts.append(self._alert(ticket, index, _ALERT_AT_RISK, deadline, risk_at))
                elif risk_at is not None:
                    nxt = risk_at - 1  # due strictly before the instant it is reached
                    if warn <= target:
                        # the breach comes at or after risk_at > now: not breached yet, and
                        # nxt is already the earlier instant; the breach point is not needed
                        if ticket.standing & bit:
                            deadline = _deadline(spans, since, calendar, target)
                            alerts.append(
                                self._alert(ticket, index, _ALERT_RETRACTED, deadline, now)
                            )
                        pending[index] = nxt
                        continue
            breach_at = clocks.exceed(spans, since, calendar, target)
            breached = breach_at is not None and breach_at < now
            if breached and not ticket.standing & bit:
                deadline = _deadline(spans, since, calendar, target)
                alerts.append(self._alert(ticket, index, _ALERT_BREACHED, deadline, breach_at))
            elif not breached and ticket.standing & bit:
                deadline = _deadline(spans, since, calendar, target)
                alerts.append(self._alert(ticket, index, _ALERT_RETRACTED, deadline, now))
            if breach_at is not None and not breached:  # (re-)breach still to come
                nxt = breach_at if nxt is None else min(nxt, breach_at)
            pending[index] = NO_INSTANT if nxt is None else nxt
        ticket.pending0, ticket.pending1, ticket.pending2 = pending
        due = NO_INSTANT
        for instant in pending:
            if instant != NO_INSTANT and (due == NO_INSTANT or instant < due):
                due = instant
        if due != ticket.due:
            ticket.due = due
            horizon = self.horizon
            if due != NO_INSTANT and (horizon is None or due < horizon):
                heapq.heappush(self._schedule, (due, ticket.id))
                if len(self._schedule) > 2 * len(self.tickets) + _COMPACT_SLACK:
                    self._compact_schedule()
        return alerts

    def _compact_schedule(self) -> None:
        """Drop superseded entries: a ticket has at most one live entry, its ``due``.

        Without this a worker keeps an entry per re-evaluation until its instant passes
        (days, for a resolution target). Runs after at least ``len(tickets)`` pushes,
        so its linear cost is constant per push.
        """
        horizon = self.horizon
        self._schedule = [
            (t.due, t.id)
            for t in self.tickets.values()
            if t.due != NO_INSTANT and (horizon is None or t.due < horizon)
        ]
        heapq.heapify(self._schedule)

    def schedule_size(self) -> int:
        """Entries in the alert schedule, superseded ones included (bounded, see above)."""
        return len(self._schedule)

    def _alert(
        self, ticket: Ticket, index: int, kind: AlertType, deadline: int | None, at: int | None
    ) -> Alert:
        bit = 1 << index
        if kind is _ALERT_AT_RISK:
            ticket.risk_sent |= bit
            generation = 1
        elif kind is _ALERT_BREACHED:
            ticket.standing |= bit
            counts = list(ticket.generation)
            counts[index] += 1
            ticket.generation = (counts[0], counts[1], counts[2])
            generation = counts[index]
        else:
            ticket.standing &= ~bit
            generation = ticket.generation[index]
        sla = SLAS[index]
        # Alert's fields in order: id, type, ticket_id, sla, priority, deadline, at, terms
        return _record(Alert, (alert_id(ticket.id, sla, kind, generation), kind, ticket.id, sla,
                               ticket.fold.priority, deadline, at if at is not None else 0,
                               self._names[ticket.fold.terms]))  # fmt: skip

    # -- results -----------------------------------------------------------------------
    def outcomes(self, now: int) -> Iterator[Outcome]:
        """Every (ticket, SLA) of every created ticket, evaluated at ``now``."""
        for ticket in self.tickets.values():
            if ticket.fold.created_at is not None:
                for index in _SLA_INDICES:  # ticket_outcomes without a generator per ticket
                    yield self.pair_outcome(ticket, index, now)

    def ticket_outcomes(self, ticket: Ticket, now: int) -> Iterator[Outcome]:
        for index in _SLA_INDICES:
            yield self.pair_outcome(ticket, index, now)

    def pair_outcome(self, ticket: Ticket, index: int, now: int) -> Outcome:
        """The status of one (ticket, SLA) pair at ``now``."""
        fold = ticket.fold
        priority = fold.priority
        terms = fold.terms
        calendar, targets, _ = self._rules[terms][priority]
        spans, since = fold.clock(index)
        target = targets[index]
        elapsed = clocks.elapsed(spans, since, calendar, now)
        stopped = fold.stopped(index)
        if fold.cancelled_at is not None:
            status = _STATUS_CANCELLED
        elif not fold.applicable(index):
            status = _STATUS_NOT_APPLICABLE
        elif elapsed > target:
            status = _STATUS_BREACHED
        else:
            status = _STATUS_MET if stopped else _STATUS_OPEN
        deadline = _deadline(spans, since, calendar, target)
        return _record(Outcome, (ticket.id, SLAS[index], priority, status, elapsed, target,
                                 deadline, stopped, self._names[terms]))  # fmt: skip

    def orphan_events(self) -> int:
        """Events of subjects that have no ``ticket.created`` applied."""
        return sum(len(t.events) for t in self.tickets.values() if t.fold.created_at is None)
