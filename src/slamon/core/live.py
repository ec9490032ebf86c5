"""The engine as a long-running worker drives it: wall-clock time, bounded memory.

What differs from replay, each forced by running forever on a partitioned stream:

- duplicates are found per ticket: a ticket's events share a partition, while a
  global set of event ids would grow without bound;
- an outcome record is produced when a (ticket, SLA) pair becomes final, changes
  while final (a late event, a priority change) or is reopened (status ``open``);
- tickets that have been final, or orphaned, for ``retention`` are expired, and
  events that arrive for them afterwards are counted as late;
- tickets are exported to and restored from plain lists (the worker's table).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from slamon.core.decisions import Alert, Outcome
from slamon.core.engine import Engine, Ticket
from slamon.core.events import Event, compact
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.tickets import ALL_SLAS

SNAPSHOT_VERSION = 1
DUPLICATE, LATE = "duplicate", "late"
_EXPIRED_MEMORY = 100_000  # expired ticket ids remembered to recognise late events


def tally_running(
    tickets: Iterable[Ticket],
    running: dict[tuple[str, str], int],
    at_risk: dict[tuple[str, str], int],
) -> None:
    """Add each running (ticket, SLA) clock to ``running`` by (priority, SLA), and to
    ``at_risk`` when its at-risk alert went out and no breach stands."""
    for ticket in tickets:
        fold = ticket.fold
        if fold.created_at is None or fold.cancelled_at is not None:
            continue
        for index, sla in enumerate(SLAS):
            if fold.applicable(index) and not fold.stopped(index):
                key = (fold.priority, sla)
                running[key] += 1
                bit = 1 << index
                if ticket.risk_sent & bit and not ticket.standing & bit:
                    at_risk[key] += 1


class LiveEngine(Engine):
    """An :class:`Engine` with per-ticket dedupe, outcome records, expiry and snapshots."""

    def __init__(self, policy: SlaPolicy, retention_ns: int) -> None:
        super().__init__(policy)
        self.retention_ns = retention_ns
        self.late = 0
        self.rejected: str | None = None  # why the last ``ingest`` returned None
        # (outcome, newly final) pairs, drained by the shell
        self.outcome_log: list[tuple[Outcome, bool]] = []
        self.touched: set[str] = set()  # tickets whose state changed outside ingest
        self._expired: OrderedDict[str, None] = OrderedDict()

    def ingest(self, event: Event, now: int, shard: int = 0) -> list[Alert] | None:
        """Apply one event at wall-clock ``now``; None if rejected (see ``rejected``)."""
        ticket = self.tickets.get(event.ticket_id)
        if ticket is None and event.ticket_id in self._expired:
            self.late += 1
            self.rejected = LATE
            return None
        if ticket is not None and any(seen.id == event.id for seen in ticket.events):
            self.duplicates += 1
            self.rejected = DUPLICATE
            return None
        ticket = ticket or self.ticket(event.ticket_id)
        ticket.shard = shard
        changed = self._fold(ticket, event)
        alerts = self._evaluate(ticket, now, changed) if changed else []
        self._settle(ticket, changed, now)
        return alerts

    def advance(self, now: int) -> list[Alert]:
        alerts = super().advance(now)
        self.touched.update(alert.ticket_id for alert in alerts)
        return alerts

    def _settle(self, ticket: Ticket, changed: int, now: int) -> None:
        """Record outcomes of pairs that became final, changed while final, or reopened."""
        fold = ticket.fold
        if fold.created_at is None:
            if ticket.final_since is None:  # an orphan: expires like a final ticket
                ticket.final_since = now
            return
        if fold.cancelled_at is not None:
            final = ALL_SLAS
        else:  # stopped or not applicable, per SLA (spelled out: this runs per event)
            final = (
                (1 if fold.responded else 0)
                | (2 if fold.arrived or fold.service != "onsite" else 0)
                | (4 if fold.resolved else 0)
            )
        report = (final ^ ticket.settled) | (changed & final)
        if report:
            at = max(now, ticket.events[-1].time)  # never cut a stopped clock short
            newly = final & ~ticket.settled
            self.outcome_log.extend(
                (self.pair_outcome(ticket, i, at), bool(newly & (1 << i)))
                for i in range(3)
                if report & (1 << i)
            )
        ticket.settled = final
        if final == ALL_SLAS:
            ticket.final_since = ticket.final_since if ticket.final_since is not None else now
        else:
            ticket.final_since = None

    def expire(self, now: int) -> list[Ticket]:
        """Remove tickets final (or orphaned) for longer than the retention."""
        cutoff = now - self.retention_ns
        gone = [
            t
            for t in self.tickets.values()
            if t.final_since is not None and t.final_since <= cutoff
        ]
        for ticket in gone:
            del self.tickets[ticket.id]
            self._expired[ticket.id] = None
        while len(self._expired) > _EXPIRED_MEMORY:
            self._expired.popitem(last=False)
        return gone

    def drop(self, shards: set[int]) -> int:
        """Forget the tickets of ``shards`` (partitions this worker no longer owns)."""
        gone = [tid for tid, t in self.tickets.items() if t.shard in shards]
        for ticket_id in gone:
            del self.tickets[ticket_id]
        return len(gone)

    def drain_outcomes(self) -> list[tuple[Outcome, bool]]:
        out, self.outcome_log = self.outcome_log, []
        return out

    def drain_touched(self) -> set[str]:
        out, self.touched = self.touched, set()
        return out

    # -- snapshots ---------------------------------------------------------------------
    @staticmethod
    def export(ticket: Ticket) -> list[Any]:
        """The ticket as plain JSON-able lists: its events and what was already said."""
        return [
            SNAPSHOT_VERSION,
            ticket.shard,
            ticket.final_since,
            ticket.settled,
            ticket.risk_sent,
            ticket.standing,
            list(ticket.generation),
            [list(event) for event in ticket.events],
        ]

    def restore(self, ticket_id: str, record: list[Any], now: int) -> list[Alert]:
        """Rebuild a ticket from :meth:`export`; returns alerts that fell due meanwhile."""
        version, shard, final_since, settled, risk, standing, generation, events = record
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"unknown snapshot version {version!r}")
        ticket = self.tickets[ticket_id] = Ticket(ticket_id, self.policy.pause)
        ticket.shard, ticket.final_since, ticket.settled = shard, final_since, settled
        ticket.risk_sent, ticket.standing = risk, standing
        ticket.generation = (generation[0], generation[1], generation[2])
        for fields in events:
            event = compact(Event(*fields))
            ticket.events = (*ticket.events, event)
            ticket.fold.apply(event)
        alerts = self._evaluate(ticket, now, ALL_SLAS)
        self._settle(ticket, 0, now)
        if alerts:
            self.touched.add(ticket_id)
        return alerts
