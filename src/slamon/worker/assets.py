"""Repeat failures live: the repartition of ticket changes by ``asset_id``.

Tickets are partitioned by ticket id, but a repeat failure needs every ticket of an asset.
The main agent hands each change of a ticket with an asset to :class:`AssetFeed`, which
sends the changes of a chunk to the internal topic ``<app-id>-assets``, one record per
partition of it (an asset's partition: Kafka's partitioner of the asset id), in order; the
asset agent (:class:`AssetService`) reads it, keeps per asset its tickets in the ``assets``
table (changelog-backed: it survives restarts and moves with its partition), recomputes
the asset's flags with the core's rule (:func:`slamon.core.assets.repeat_flags`, the rule
replay applies) and counts each ticket's moves between ``resolved_with_asset`` and
``repeat_failure`` in the quality counters (docs/metrics.md).

What each ticket was last counted as is kept with it in the table, so a restart or the
partition's next owner goes on from there: every move is counted once across the fleet.
A record is ignored when its ticket is already known from more events (records of one
ticket may arrive twice, at-least-once; never reordered, yet the rule would not mind).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import structlog

from slamon.adapters.kept_json import dumps_kept
from slamon.adapters.metrics import SlaMetrics
from slamon.adapters.outbox import partition_for
from slamon.adapters.quality_metrics import TicketState
from slamon.core.assets import AssetTicket, drop_instant, needed_past, repeat_flags
from slamon.core.engine import Ticket
from slamon.core.events import (
    CANCELLED,
    CREATED,
    PRIORITY_CHANGED,
    REOPENED,
    RESOLVED,
    UPDATED,
    Event,
)
from slamon.worker.inputs import InputPositions
from slamon.worker.ports import Record, Sink
from slamon.worker.unsettled import UnsettledWrites

log = structlog.get_logger("slamon.worker.assets")

# the event types that may change what the rule or the labels read of a ticket (a late
# event of another type refolds the ticket, but changes none of these)
ASSET_TYPES = frozenset((CREATED, RESOLVED, REOPENED, CANCELLED, PRIORITY_CHANGED, UPDATED))
DROP_GRACE_NS = 600 * 10**9  # past the retention: the main agent has expired the ticket
SWEEP = b"sweep"  # a record of the assets topic asking to drop what is due (no change)
SWEEP_EVERY_S = 60.0
MAX_BATCH = 500  # changes in one record at most (~60 KB: far below the broker's limit)

# one ticket in an asset's table value: [events, created_at, resolved_at, resolved now,
# cancelled, priority, service, region, final_since (wall clock), counted]; counted is
# [priority, service label, region label, mask of ASSET_STATES] or None
N, CREATED_AT, RESOLVED_AT, RESOLVED_NOW, IS_CANCELLED, PRIORITY, SERVICE, REGION = range(8)
FINAL_SINCE, COUNTED = 8, 9


def assets_topic(app_id: str) -> str:
    """The internal repartition topic, named like the other internal topics."""
    return f"{app_id}-assets"


def asset_change(ticket: Ticket) -> list[Any]:
    """One change: what the asset agent needs of ``ticket``."""
    fold = ticket.fold
    return [ticket.id, len(ticket.events), fold.created_at, fold.resolved_at, fold.resolved,
            fold.cancelled_at is not None, fold.priority, fold.service, fold.region]  # fmt: skip


class AssetFeed:
    """The main agent's side: the changes of tickets with an asset, sent at each flush as
    one record per assets partition: ``{"changes": [[asset id, change], ...]}``.

    A record per change cost the asset agent Faust's per-record work (~145 us) for ~40%
    of the input events; a chunk's changes in one record per partition cost it once.
    """

    def __init__(self, sink: Sink, partitions: int) -> None:
        self.sink = sink
        self.partitions = list(range(partitions))
        self._pending: dict[int, list[list[Any]]] = {}  # assets partition -> changes

    def changed(self, ticket: Ticket, event: Event) -> None:
        asset = ticket.fold.asset_id
        if asset is not None and event.type in ASSET_TYPES:
            partition = partition_for(asset.encode(), self.partitions, 0)
            self._pending.setdefault(partition, []).append([asset, asset_change(ticket)])

    def discard(self) -> None:
        """Forget the changes not yet handed to the sink (an abandoned catch-up batch)."""
        self._pending = {}

    async def send_pending(self) -> None:
        """Hand the changes so far to the sink (before the chunk's outputs are flushed)."""
        pending, self._pending = self._pending, {}
        for partition, changes in sorted(pending.items()):
            for start in range(0, len(changes), MAX_BATCH):
                value = orjson.dumps({"changes": changes[start : start + MAX_BATCH]})
                await self.sink.send(key=None, value=value, partition=partition)


class AssetService:
    """The asset agent's side: per-asset state in ``table``, counts into ``metrics``."""

    def __init__(
        self,
        metrics: SlaMetrics,
        table: MutableMapping[bytes, bytes],
        *,
        window_ns: int,
        retention_ns: int,
        clock: Callable[[], int],
        flush: Callable[[], Awaitable[None]] | None = None,
        sweeps: Sink | None = None,
    ) -> None:
        self._flush = flush
        self.sweeps = sweeps  # the assets topic: sweep records, so the agent drops entries
        # asset key -> (when an entry of it may be dropped, its partition): the assets of
        # this worker's partitions with a final ticket (rebuilt from the table on recovery)
        self.due: dict[bytes, tuple[int, int]] = {}
        # writes a recovery may undo (see worker/unsettled.py), and the latest values a
        # recovery did undo, read instead of the table's until the agent writes them again
        self.unsettled = UnsettledWrites()
        self.restored: dict[bytes, bytes | None] = {}
        self._revocations = 0
        self.metrics = metrics
        self.table = table
        self.window_ns = window_ns
        self.retention_ns = retention_ns
        self.clock = clock
        # records the consumer skipped are read again, as on the input topic (worker/app.py
        # sets the consumer): seen dropped here at a recovery, the commit stuck before them
        self.inputs = InputPositions(metrics.input_gap, stream="assets")

    async def handle(self, record: Record) -> None:
        """One record of the assets topic: a sweep, a batch of changes or (written before
        batches) one change keyed by its asset. A bad one is logged and skipped (internal)."""
        if not await self.inputs.admit(record.partition, record.offset):
            return  # records before it were skipped; it comes again once they are read
        try:
            decoded = None if record.value == SWEEP else orjson.loads(record.value or b"")
            if not isinstance(decoded, dict):
                self._apply(record.key or b"", decoded, record.partition)
                return
            changes = decoded["changes"]
        except Exception:  # one bad record must not stop the stream
            log.exception("asset record failed", partition=record.partition,
                          offset=record.offset)  # fmt: skip
            return
        for index, (asset, change) in enumerate(changes):
            try:
                self._apply(str(asset).encode(), change, record.partition)
            except Exception:  # nor one bad change the others of its record
                log.exception("asset change failed", partition=record.partition,
                              offset=record.offset, index=index)  # fmt: skip

    async def sweep(self) -> int:
        """Ask the agent to drop what is due, through a record per asset (tables are written
        from a stream only); returns how many were sent. Partitions whose records stopped
        short of the broker's end are read again first."""
        now, sent = self.clock(), 0
        await self.inputs.resume_stuck(now)
        if self.sweeps is None:
            return 0
        for key, (at, partition) in list(self.due.items()):
            if at <= now:
                del self.due[key]  # back when the agent has applied the sweep, if still due
                await self.sweeps.send(key=key, value=SWEEP, partition=partition)
                sent += 1
        return sent

    async def on_recovered(self, active: set[int]) -> None:
        """The asset table is recovered: the latest values a recovery undid are read again
        (and written again by a sweep record), what is due is found for ``active``."""
        self.inputs.assigned(active)
        items = dict(self.table.items())
        undone = self.unsettled.overlay(items, active)
        self.unsettled.keep_only(active)
        self.restored = {key: items.get(key) for key in undone}
        self.due = {}
        for key, raw in items.items():
            try:
                state = orjson.loads(raw)
                if state.get("q") in active:
                    self._schedule(key, state)
            except Exception:  # one unreadable value must not stop the others
                log.exception("asset state not read", asset=key.decode(errors="replace"))
        if undone and self.sweeps is not None:
            log.warning("recovery replayed older asset states over unsettled writes; kept "
                        "the latest", assets=len(undone))  # fmt: skip
            for key in undone:
                partition = self.unsettled.partition_of(key)
                await self.sweeps.send(key=key, value=SWEEP, partition=partition)
            await self.flush()

    def on_revoked(self, partitions: set[int]) -> None:
        self._revocations += 1
        self.inputs.forget(partitions)
        self.due = {k: due for k, due in self.due.items() if due[1] not in partitions}

    async def flush(self) -> None:
        """Hand the table's changelog records on (before the agent acks its chunk)."""
        if self._flush is not None:
            await self.unsettled.flush_settling(self._flush, lambda: self._revocations)

    def _apply(self, key: bytes, change: list[Any] | None, partition: int) -> None:
        """A ticket's change (None: a sweep) into the asset's state, then drop and recount."""
        raw = self.restored[key] if key in self.restored else self.table.get(key)
        state: dict[str, Any] = orjson.loads(raw) if raw is not None else {"t": {}, "p": []}
        now = self.clock()
        if change is not None and not self._update(state["t"], change, now):
            return  # an older record of a ticket known from more events
        state["q"] = partition
        self._drop_expired(state, now)
        self._recount(state)
        self.restored.pop(key, None)
        if state["t"]:
            value = self.table[key] = dumps_kept(state)
            self._schedule(key, state)
            self.unsettled.record(key, partition, value)
        else:
            self.due.pop(key, None)
            if key in self.table:
                del self.table[key]
            self.unsettled.record(key, partition, None)

    @staticmethod
    def _update(tickets: dict[str, list[Any]], change: list[Any], now: int) -> bool:
        ticket_id, events = str(change[0]), int(change[1])
        entry = tickets.get(ticket_id)
        if entry is not None and entry[N] > events:
            return False
        final_since = None
        if change[4] or change[5]:  # resolved now, or cancelled
            final_since = entry[FINAL_SINCE] if entry is not None and entry[FINAL_SINCE] else now
        counted = entry[COUNTED] if entry is not None else None
        tickets[ticket_id] = [*change[1:], final_since, counted]
        return True

    def _drop_at(self, entry: list[Any]) -> int | None:
        """When :meth:`_drop_expired` drops the entry (None: not final)."""
        at = drop_instant(entry[FINAL_SINCE], entry[RESOLVED_AT], bool(entry[IS_CANCELLED]),
                          keep_ns=self.retention_ns + DROP_GRACE_NS,
                          window_ns=self.window_ns)  # fmt: skip
        return None if at is None else int(at)

    def _schedule(self, key: bytes, state: dict[str, Any]) -> None:
        times = [at for e in state["t"].values() if (at := self._drop_at(e)) is not None]
        if times:
            self.due[key] = (min(times), int(state["q"]))
        else:
            self.due.pop(key, None)

    def _drop_expired(self, state: dict[str, Any], now: int) -> None:
        """Forget tickets final for the retention whose window has passed (a cancelled one
        right after the retention); they keep counting in what they were last counted."""
        tickets: dict[str, list[Any]] = state["t"]
        for ticket_id, entry in list(tickets.items()):
            at = self._drop_at(entry)
            if at is None or at > now:
                continue
            del tickets[ticket_id]
            if not entry[IS_CANCELLED] and entry[CREATED_AT] is not None:
                state["p"].append(entry[CREATED_AT])
        state["p"] = needed_past(state["p"], _rule_view(tickets), self.window_ns)

    def _recount(self, state: dict[str, Any]) -> None:
        tickets: dict[str, list[Any]] = state["t"]
        flags = repeat_flags(_rule_view(tickets), self.window_ns, state["p"])
        for ticket_id, entry in tickets.items():
            flag = flags.get(ticket_id)
            new = None
            if flag is not None:
                service, region = self.metrics.where(entry[SERVICE], entry[REGION])
                new = [entry[PRIORITY], service, region, 3 if flag else 1]
            old = entry[COUNTED]
            if new != old:
                self.metrics.move_asset_states(_state(old), _state(new))
                entry[COUNTED] = new


def _state(counted: list[Any] | None) -> TicketState | None:
    if counted is None:
        return None
    priority, service, region, mask = counted
    return str(priority), str(service), str(region), int(mask)


def _rule_view(tickets: dict[str, list[Any]]) -> dict[str, AssetTicket]:
    return {ticket_id: AssetTicket(e[CREATED_AT], e[RESOLVED_AT], bool(e[IS_CANCELLED]))
            for ticket_id, e in tickets.items()}  # fmt: skip
