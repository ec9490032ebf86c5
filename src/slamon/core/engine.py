"""The SLA engine: events in, alerts and outcomes out. No I/O, no clock reads.

Both shells drive it the same way: ``advance(now)`` fires what fell due before
``now`` even if no event arrived, ``apply(event, now)`` folds an event in and
re-evaluates that ticket. Replay passes event time as ``now``; the Kafka worker
passes the wall clock. One code path decides in both, so their answers agree.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Iterator

from slamon.core.decisions import (
    AT_RISK,
    BREACH,
    BREACHED,
    CANCELLED,
    MET,
    NOT_APPLICABLE,
    OPEN,
    RETRACTED,
    Alert,
    Outcome,
    alert_id,
)
from slamon.core.events import Event
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.tickets import TicketFold


def _order(event: Event) -> tuple[int, int]:
    return event.time, event.seq


class Ticket:
    """A ticket's events (sorted), its folded state and what was already alerted."""

    __slots__ = ("due", "events", "fold", "generation", "id", "risk_sent", "standing")

    def __init__(self, ticket_id: str, pause: frozenset[str]) -> None:
        self.id = ticket_id
        self.events: list[Event] = []
        self.fold = TicketFold(pause)
        self.due: int | None = None  # the earliest pending alert instant, if scheduled
        self.risk_sent = [False, False, False]
        self.generation = [0, 0, 0]  # breach generations, for deterministic alert ids
        self.standing = [False, False, False]  # a breach alert stands (not retracted)


class Engine:
    """Keeps every ticket's SLA clocks and decides alerts and outcomes."""

    def __init__(self, policy: SlaPolicy) -> None:
        self.policy = policy
        self.tickets: dict[str, Ticket] = {}
        self.duplicates = 0
        self._seen: set[str] = set()
        self._heap: list[tuple[int, str]] = []

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
        ticket = self.tickets.get(event.ticket_id)
        if ticket is None:
            ticket = self.tickets[event.ticket_id] = Ticket(event.ticket_id, self.policy.pause)
        events = ticket.events
        if not events or _order(event) >= _order(events[-1]):
            events.append(event)
            ticket.fold.apply(event)
        else:  # late: rebuild from the sorted history, as if it had come in order
            insort(events, event, key=_order)
            fold = ticket.fold = TicketFold(self.policy.pause)
            for earlier in events:
                fold.apply(earlier)
        return self._evaluate(ticket, now)

    def ingest(self, event: Event, now: int) -> list[Alert] | None:
        """``admit`` then ``apply``; None for a duplicate."""
        return self.apply(event, now) if self.admit(event) else None

    def advance(self, now: int) -> list[Alert]:
        """Emit every alert whose instant lies strictly before ``now``."""
        alerts: list[Alert] = []
        heap = self._heap
        while heap and heap[0][0] < now:
            due, ticket_id = heapq.heappop(heap)
            ticket = self.tickets.get(ticket_id)
            if ticket is None or ticket.due != due:
                continue  # superseded by a later evaluation
            ticket.due = None
            # just after `due`: emits in instant order, events of this ticket are all <= due
            alerts.extend(self._evaluate(ticket, due + 1))
        return alerts

    def next_due(self) -> int | None:
        """The earliest instant at which ``advance`` may have something to emit."""
        return self._heap[0][0] if self._heap else None

    # -- decisions ---------------------------------------------------------------------
    def _evaluate(self, ticket: Ticket, now: int) -> list[Alert]:
        fold = ticket.fold
        if fold.created_at is None:
            return []
        alerts: list[Alert] = []
        live = fold.cancelled_at is None
        priority = fold.priority
        calendar = self.policy.calendar(priority)
        due: int | None = None
        for index, sla in enumerate(SLAS):
            if not (live and fold.applicable(index)):
                if ticket.standing[index]:
                    alerts.append(self._alert(ticket, index, RETRACTED, None, now))
                continue
            clock = fold.clocks[index]
            target = self.policy.target_ns(priority, sla)
            deadline = clock.reach(calendar, target) if clock.running else None
            if not ticket.risk_sent[index]:
                risk_at = clock.reach(calendar, self.policy.warn_ns(priority, sla))
                if risk_at is not None and risk_at < now:
                    alerts.append(self._alert(ticket, index, AT_RISK, deadline, risk_at))
                elif risk_at is not None:
                    due = risk_at if due is None else min(due, risk_at)
            breach_at = clock.exceed(calendar, target)
            breached = breach_at is not None and breach_at < now
            if breached and not ticket.standing[index]:
                alerts.append(self._alert(ticket, index, BREACHED, deadline, breach_at))
            elif not breached and ticket.standing[index]:
                alerts.append(self._alert(ticket, index, RETRACTED, deadline, now))
            if breach_at is not None and not breached:  # (re-)breach still to come
                due = breach_at if due is None else min(due, breach_at)
        if due != ticket.due:
            ticket.due = due
            if due is not None:
                heapq.heappush(self._heap, (due, ticket.id))
        return alerts

    def _alert(
        self, ticket: Ticket, index: int, kind: str, deadline: int | None, at: int | None
    ) -> Alert:
        if kind == AT_RISK:
            ticket.risk_sent[index] = True
            generation = 1
        elif kind == BREACHED:
            ticket.standing[index] = True
            ticket.generation[index] += 1
            generation = ticket.generation[index]
        else:
            ticket.standing[index] = False
            generation = ticket.generation[index]
        sla = SLAS[index]
        return Alert(
            id=alert_id(ticket.id, sla, kind, generation),
            type=kind,
            ticket_id=ticket.id,
            sla=sla,
            priority=ticket.fold.priority,
            deadline=deadline,
            at=at if at is not None else 0,
        )

    # -- results -----------------------------------------------------------------------
    def outcomes(self, now: int) -> Iterator[Outcome]:
        """Every (ticket, SLA) of every created ticket, evaluated at ``now``."""
        for ticket in self.tickets.values():
            if ticket.fold.created_at is not None:
                yield from self.ticket_outcomes(ticket, now)

    def ticket_outcomes(self, ticket: Ticket, now: int) -> Iterator[Outcome]:
        fold = ticket.fold
        priority = fold.priority
        calendar = self.policy.calendar(priority)
        for index, sla in enumerate(SLAS):
            clock = fold.clocks[index]
            target = self.policy.target_ns(priority, sla)
            elapsed = clock.elapsed(calendar, now)
            stopped = fold.stopped(index)
            if fold.cancelled_at is not None:
                status = CANCELLED
            elif not fold.applicable(index):
                status = NOT_APPLICABLE
            elif elapsed > target:
                status = BREACH
            else:
                status = MET if stopped else OPEN
            deadline = clock.reach(calendar, target) if clock.running else None
            yield Outcome(ticket.id, sla, priority, status, elapsed, target, deadline, stopped)

    def orphan_events(self) -> int:
        """Events of subjects that have no ``ticket.created`` applied."""
        return sum(len(t.events) for t in self.tickets.values() if t.fold.created_at is None)
