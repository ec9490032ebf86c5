"""Repeat failures live: the repartition of ticket changes by ``asset_id``.

Tickets are partitioned by ticket id, but a repeat failure needs every ticket of an asset.
The main agent hands each change of a ticket with an asset to :class:`AssetFeed`, which
sends a small record keyed by the asset id to the internal topic ``<app-id>-assets``; the
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

from slamon.adapters.metrics import SlaMetrics
from slamon.adapters.quality_metrics import TicketState
from slamon.core.assets import AssetTicket, needed_past, repeat_flags
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
from slamon.worker.ports import Record, Sink

log = structlog.get_logger("slamon.worker.assets")

# the event types that may change what the rule or the labels read of a ticket (a late
# event of another type refolds the ticket, but changes none of these)
ASSET_TYPES = frozenset((CREATED, RESOLVED, REOPENED, CANCELLED, PRIORITY_CHANGED, UPDATED))
DROP_GRACE_NS = 600 * 10**9  # past the retention: the main agent has expired the ticket

# one ticket in an asset's table value: [events, created_at, resolved_at, resolved now,
# cancelled, priority, service, region, final_since (wall clock), counted]; counted is
# [priority, service label, region label, mask of ASSET_STATES] or None
N, CREATED_AT, RESOLVED_AT, RESOLVED_NOW, IS_CANCELLED, PRIORITY, SERVICE, REGION = range(8)
FINAL_SINCE, COUNTED = 8, 9


def assets_topic(app_id: str) -> str:
    """The internal repartition topic, named like the other internal topics."""
    return f"{app_id}-assets"


def asset_record(ticket: Ticket) -> bytes:
    """The repartition record's value: what the asset agent needs of ``ticket``."""
    fold = ticket.fold
    return orjson.dumps([ticket.id, len(ticket.events), fold.created_at, fold.resolved_at,
                         fold.resolved, fold.cancelled_at is not None, fold.priority,
                         fold.service, fold.region])  # fmt: skip


class AssetFeed:
    """The main agent's side: a record to the assets topic per change of a ticket with an
    asset, keyed by the asset id (Kafka's partitioner puts an asset on one partition)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def changed(self, ticket: Ticket, event: Event) -> None:
        asset = ticket.fold.asset_id
        if asset is not None and event.type in ASSET_TYPES:
            await self.sink.send(key=asset.encode(), value=asset_record(ticket))


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
    ) -> None:
        self._flush = flush
        self.metrics = metrics
        self.table = table
        self.window_ns = window_ns
        self.retention_ns = retention_ns
        self.clock = clock

    async def handle(self, record: Record) -> None:
        """One record of the assets topic; a bad one is logged and skipped (internal)."""
        try:
            self._apply(record.key or b"", orjson.loads(record.value or b""))
        except Exception:  # one bad record must not stop the stream
            log.exception("asset record failed", partition=record.partition,
                          offset=record.offset)  # fmt: skip

    async def flush(self) -> None:
        """Hand the table's changelog records on (before the agent acks its chunk)."""
        if self._flush is not None:
            await self._flush()

    def _apply(self, key: bytes, change: list[Any]) -> None:
        ticket_id, events = str(change[0]), int(change[1])
        raw = self.table.get(key)
        state: dict[str, Any] = orjson.loads(raw) if raw is not None else {"t": {}, "p": []}
        tickets: dict[str, list[Any]] = state["t"]
        now = self.clock()
        entry = tickets.get(ticket_id)
        if entry is not None and entry[N] > events:
            return  # an older record of a ticket known from more events
        final = bool(change[4]) or bool(change[5])
        final_since = None
        if final:
            final_since = entry[FINAL_SINCE] if entry is not None and entry[FINAL_SINCE] else now
        counted = entry[COUNTED] if entry is not None else None
        tickets[ticket_id] = [*change[1:], final_since, counted]
        self._drop_expired(state, now)
        self._recount(state)
        if state["t"]:
            self.table[key] = orjson.dumps(state)
        elif raw is not None:
            del self.table[key]

    def _drop_expired(self, state: dict[str, Any], now: int) -> None:
        """Forget tickets final for the retention whose window has passed (a cancelled one
        right after the retention); they keep counting in what they were last counted."""
        tickets: dict[str, list[Any]] = state["t"]
        cutoff = now - self.retention_ns - DROP_GRACE_NS
        for ticket_id, entry in list(tickets.items()):
            since = entry[FINAL_SINCE]
            if since is None or since > cutoff:
                continue
            resolved_at = entry[RESOLVED_AT]
            if entry[IS_CANCELLED] or resolved_at is None:
                del tickets[ticket_id]
            elif resolved_at + self.window_ns < now:
                del tickets[ticket_id]
                if entry[CREATED_AT] is not None:
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
