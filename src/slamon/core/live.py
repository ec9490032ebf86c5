"""The engine as a long-running worker drives it: wall-clock time, bounded memory.

What differs from replay, each forced by running forever on a partitioned stream:

- duplicates are found per ticket: a ticket's events share a partition, while a
  global set of event ids would grow without bound;
- an outcome record is produced when a (ticket, SLA) pair becomes final, changes
  while final (a late event, a priority change) or is reopened (status ``open``);
- tickets that have been final, or orphaned, for ``retention`` are expired, and
  events that arrive for them afterwards are counted as late;
- tickets are exported to and restored from a :class:`Snapshot`, stored in the worker's
  table as a plain JSON list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from slamon.core.decisions import DUPLICATE, LATE, Alert, Outcome, Rejected
from slamon.core.engine import Engine, Ticket, event_order, later_generation
from slamon.core.events import Event, compact
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.said import Said
from slamon.core.tickets import ALL_SLAS

__all__ = [
    "RUNNING_STATES", "LiveEngine", "Rejected", "Snapshot", "SnapshotError", "tally_running"
]  # fmt: skip

SNAPSHOT_VERSION = 1
_EXPIRED_MEMORY = 100_000  # expired ticket ids remembered to recognise late events
_EVENT_MIN = Event._fields.index("seq") + 1  # a stored event has every field with no default
_EVENT_MAX = len(Event._fields)


class SnapshotError(ValueError):
    """A snapshot that cannot be read or rebuilt; says which and why."""


def _is_int(value: Any) -> bool:
    return type(value) is int  # JSON true is not a mask


class Snapshot(NamedTuple):
    """A ticket as the worker's table stores it: its events and what was already said.

    On the wire it is the plain JSON list of these fields, in this order
    (:meth:`to_list`, :meth:`from_list`); the layout is the table's format.
    """

    version: int
    shard: int
    final_since: int | None
    settled: int  # mask of SLAs whose final outcome was reported
    risk_sent: int  # mask of SLAs whose at-risk alert was sent
    standing: int  # mask of SLAs with a standing breach
    generation: list[int]  # breach counts per SLA (alert ids)
    events: list[list[Any]]  # each event's fields, in Event order

    def to_list(self) -> list[Any]:
        """The JSON-able list stored in the table."""
        return list(self)

    @staticmethod
    def shard_of(record: Any) -> object:
        """The shard (partition) a stored record belongs to, read without validating it."""
        if not isinstance(record, list) or len(record) < 2:
            raise SnapshotError(f"a snapshot is a list of fields, got {type(record).__name__}")
        return record[1]

    @classmethod
    def from_list(cls, record: Any) -> Snapshot:
        """Validate a decoded table record (version and shape) into a :class:`Snapshot`."""
        if not isinstance(record, list) or not record:
            raise SnapshotError(f"a snapshot is a list of fields, got {type(record).__name__}")
        if not _is_int(record[0]) or record[0] != SNAPSHOT_VERSION:
            raise SnapshotError(f"unknown snapshot version {record[0]!r}")
        if len(record) != len(cls._fields):
            raise SnapshotError(f"expected {len(cls._fields)} fields, got {len(record)}")
        _, shard, final_since, settled, risk_sent, standing, generation, events = record
        if not all(map(_is_int, (shard, settled, risk_sent, standing))):
            raise SnapshotError("shard and masks must be integers")
        if final_since is not None and not _is_int(final_since):
            raise SnapshotError(f"final_since must be an integer or null, got {final_since!r}")
        if not (isinstance(generation, list) and len(generation) == 3
                and all(map(_is_int, generation))):  # fmt: skip
            raise SnapshotError(f"generation must be three integers, got {generation!r}")
        if not isinstance(events, list) or not all(
            isinstance(fields, list) and _EVENT_MIN <= len(fields) <= _EVENT_MAX
            for fields in events
        ):
            raise SnapshotError("events must be lists of event fields")
        return cls(*record)


RUNNING_STATES = ("within_target", "at_risk", "breached")


def tally_running(tickets: Iterable[Ticket], counts: dict[tuple[str, str, str], int]) -> None:
    """Add each running (ticket, SLA) clock to ``counts[(priority, SLA, state)]``.

    ``state``: ``breached`` once a breach stands (past the target, still running),
    ``at_risk`` once the at-risk alert went out, else ``within_target``.
    """
    for ticket in tickets:
        fold = ticket.fold
        mask = fold.running_mask()
        if not mask:
            continue
        for index, sla in enumerate(SLAS):
            bit = 1 << index
            if mask & bit:
                if ticket.standing & bit:
                    state = "breached"
                elif ticket.risk_sent & bit:
                    state = "at_risk"
                else:
                    state = "within_target"
                key = (fold.priority, sla, state)
                counts[key] = counts.get(key, 0) + 1


class Ingested(NamedTuple):
    """What :meth:`LiveEngine.ingest_many` did with one ticket's batch."""

    alerts: list[Alert]
    applied: list[Event]  # in time order
    rejected: list[Rejected]  # one per event not applied: duplicate or late


class LiveEngine(Engine):
    """An :class:`Engine` with per-ticket dedupe, outcome records, expiry and snapshots."""

    def __init__(self, policy: SlaPolicy, retention_ns: int) -> None:
        super().__init__(policy)
        self.retention_ns = retention_ns
        self.late = 0
        # (outcome, newly final) pairs, drained by the shell
        self.outcome_log: list[tuple[Outcome, bool]] = []
        self.touched: set[str] = set()  # tickets whose state changed outside ingest
        self._expired: OrderedDict[str, None] = OrderedDict()
        # the alerts topic's word on tickets not held yet: applied when they are created
        self.recalled: dict[str, Said] = {}

    def ticket(self, ticket_id: str) -> Ticket:
        ticket = super().ticket(ticket_id)
        if self.recalled:
            said = self.recalled.pop(ticket_id, None)
            if said is not None:
                said.apply_to(ticket)
        return ticket

    def recall(self, said: dict[str, Said]) -> None:
        """Fold what the alerts topic says was sent (:mod:`slamon.core.said`) into the
        tickets held, and into those created later (until :meth:`forget_recalled`)."""
        for ticket_id, word in said.items():
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                self.recalled[ticket_id] = word
            else:
                word.apply_to(ticket)

    def forget_recalled(self) -> int:
        """Drop what :meth:`recall` kept for tickets never created; how many."""
        count, self.recalled = len(self.recalled), {}
        return count

    def ingest(self, event: Event, now: int, shard: int = 0) -> list[Alert] | Rejected:
        """Apply one event at wall-clock ``now``: its alerts, or why it was not applied."""
        ticket = self.tickets.get(event.ticket_id)
        if ticket is None and event.ticket_id in self._expired:
            self.late += 1
            return LATE
        if ticket is None:
            ticket = self.ticket(event.ticket_id)
        else:
            event_id = event.id
            for seen in ticket.events:  # a loop, not any(): no generator per event
                if seen.id == event_id:
                    self.duplicates += 1
                    return DUPLICATE
        ticket.shard = shard
        changed = self._fold(ticket, event)
        alerts = self._evaluate(ticket, now, changed) if changed else []
        self._settle(ticket, changed, now)
        return alerts

    def ingest_many(self, events: Sequence[Event], now: int, shard: int = 0) -> Ingested:
        """Apply events of one ticket at ``now`` with one evaluation for them all.

        A backlog's batch (worker/catchup.py): the ticket ends with the events, fold,
        outcomes and standing breaches that :meth:`ingest` of each in turn at the same
        ``now`` gives. Its alerts come from one look at the whole history, as after a
        restore: a breach that a later event of the batch took back is never raised.
        """
        if not events:
            return Ingested([], [], [])
        ticket_id = events[0].ticket_id
        ticket = self.tickets.get(ticket_id)
        if ticket is None and ticket_id in self._expired:
            self.late += len(events)
            return Ingested([], [], [LATE] * len(events))
        if ticket is None:
            ticket = self.ticket(ticket_id)
        seen = {event.id for event in ticket.events}
        applied: list[Event] = []
        rejected: list[Rejected] = []
        changed = 0
        for event in sorted(events, key=event_order):  # in order: no refold per late event
            if event.ticket_id != ticket_id:
                raise ValueError(f"ingest_many: events of {ticket_id!r} and {event.ticket_id!r}")
            if event.id in seen:
                self.duplicates += 1
                rejected.append(DUPLICATE)
                continue
            seen.add(event.id)
            applied.append(event)
            changed |= self._fold(ticket, event)
        ticket.shard = shard
        alerts = self._evaluate(ticket, now, changed) if changed else []
        self._settle(ticket, changed, now)
        return Ingested(alerts, applied, rejected)

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
        final = fold.final_mask()
        report = (final ^ ticket.settled) | (changed & final)
        if report:
            at = max(now, ticket.events[-1].time)  # never cut a stopped clock short
            newly = final & ~ticket.settled
            for i in range(3):
                if report & (1 << i):
                    self.outcome_log.append(
                        (self.pair_outcome(ticket, i, at), bool(newly & (1 << i)))
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
    def export(ticket: Ticket) -> Snapshot:
        """The ticket as a :class:`Snapshot`: its events and what was already said."""
        return Snapshot(
            SNAPSHOT_VERSION,
            ticket.shard,
            ticket.final_since,
            ticket.settled,
            ticket.risk_sent,
            ticket.standing,
            list(ticket.generation),
            [list(event) for event in ticket.events],
        )

    def restore(
        self, ticket_id: str, snapshot: Snapshot, now: int, said: Ticket | None = None
    ) -> list[Alert]:
        """Rebuild a ticket from :meth:`export`; returns alerts that fell due meanwhile.

        ``said``: an earlier copy of the ticket whose alerts went out after the snapshot
        was written (rebuilt from a recovery cut short): what either said counts as said,
        so that a breach it raised which the snapshot's history does not bear out is
        retracted, and nothing is raised twice.

        All or nothing: when the snapshot cannot be rebuilt, the engine is left as it
        was (no half-restored ticket, no outcome recorded) and :class:`SnapshotError`
        says why.
        """
        previous = self.tickets.get(ticket_id)
        logged = len(self.outcome_log)
        try:
            ticket = self.tickets[ticket_id] = self._rebuild(ticket_id, snapshot)
            if said is not None:
                ticket.risk_sent |= said.risk_sent
                ticket.standing |= said.standing
                ticket.generation = later_generation(ticket.generation, said.generation)
            alerts = self._evaluate(ticket, now, ALL_SLAS)
            self._settle(ticket, 0, now)
        except Exception as exc:
            del self.outcome_log[logged:]
            if previous is None:
                self.tickets.pop(ticket_id, None)
            else:
                self.tickets[ticket_id] = previous
            if isinstance(exc, SnapshotError):
                raise
            raise SnapshotError(f"snapshot of ticket {ticket_id!r} not restored: {exc!r}") from exc
        if alerts:
            self.touched.add(ticket_id)
        return alerts

    def _rebuild(self, ticket_id: str, snapshot: Snapshot) -> Ticket:
        """A new ticket with the snapshot's events folded in (not yet evaluated)."""
        if snapshot.version != SNAPSHOT_VERSION:
            raise SnapshotError(f"unknown snapshot version {snapshot.version!r}")
        ticket = Ticket(ticket_id, self.policy.pause)
        ticket.shard, ticket.final_since = snapshot.shard, snapshot.final_since
        ticket.settled, ticket.risk_sent, ticket.standing = (
            snapshot.settled, snapshot.risk_sent, snapshot.standing
        )  # fmt: skip
        first, second, third = snapshot.generation
        ticket.generation = (first, second, third)
        ticket.events = tuple(compact(Event(*fields)) for fields in snapshot.events)
        for event in ticket.events:
            ticket.fold.apply(event)
        if self.policy.terms:
            ticket.fold.select_terms(self.policy)
        return ticket
