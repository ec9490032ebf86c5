"""Helpers for tests and examples: event builders, a small policy, a manual clock, fakes.

Public so that users can test their own policies and integrations the same way:
``slamon.bootstrap.build_service`` wired with :class:`ManualClock`, :class:`ListSink`
and a dict as the table is the worker without Kafka.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from slamon.core.oncall import Transition
from slamon.core.policy import SlaPolicy, policy_from_dict
from slamon.core.timefmt import parse_rfc3339

BASE_TIME = datetime.fromisoformat("2026-11-23T08:00:00+00:00")  # a Monday


def at(minutes: float = 0, *, base: datetime = BASE_TIME) -> str:
    """RFC 3339 time ``minutes`` after ``base`` (UTC, millisecond precision)."""
    moment = base + timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def instant(minutes: float = 0, *, base: datetime = BASE_TIME) -> int:
    """The instant of :func:`at` in integer nanoseconds, the core's unit."""
    return parse_rfc3339(at(minutes, base=base))


class ManualClock:
    """A wall clock in integer ns that moves only when told to."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ns: int) -> int:
        self.now += ns
        return self.now


@dataclass
class Sent:
    """One record handed to a :class:`ListSink`."""

    key: bytes | None
    value: bytes | None
    partition: int | None
    headers: list[tuple[str, bytes]] | None


class ListSink:
    """A topic that keeps what was sent to it, in order."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self.sent.append(Sent(key, value, partition, headers))

    def values(self) -> list[Any]:
        """The decoded JSON values sent so far."""
        return [orjson.loads(s.value or b"null") for s in self.sent]


class ListAlertSink:
    """An on-call sink (Alertmanager, webhook) that keeps every batch delivered to it."""

    name = "list"

    def __init__(self, kind: str = "alertmanager", *, changes_only: bool = False) -> None:
        self.kind = kind
        self.changes_only = changes_only
        self.batches: list[list[Transition]] = []

    async def deliver(self, batch: Sequence[Transition]) -> None:
        self.batches.append(list(batch))

    async def close(self) -> None:
        return None

    def transitions(self) -> list[Transition]:
        """Every transition delivered so far, in order."""
        return [t for batch in self.batches for t in batch]

    def changes(self) -> list[tuple[str, str, str, str]]:
        """(change, alertname, ticket, SLA) of each transition delivered, in order."""
        return [(t.change, t.alert.alertname, t.alert.ticket_id, t.alert.sla)
                for t in self.transitions()]  # fmt: skip


@dataclass
class Record:
    """A consumed Kafka record, as the worker's service reads one."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any = field(default_factory=list)
    timestamp: float | None = None


def event_record(event: dict[str, Any], topic: str, partition: int = 0, offset: int = 0) -> Record:
    """A structured-mode CloudEvent record keyed by the event's subject."""
    return Record(topic, partition, offset, str(event["subject"]).encode(), orjson.dumps(event))


class EventLog:
    """Builds a JSONL event log; ids are generated unless given."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any] | bytes] = []
        self._ids = itertools.count(1)

    def add(
        self, etype: str, ticket: str, time: str, data: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "specversion": "1.0",
            "id": extra.pop("id", f"e-{next(self._ids)}"),
            "source": "/test",
            "type": etype,
            "subject": ticket,
            "time": time,
        }
        if data is not None:
            record["data"] = data
        record.update(extra)
        self.records.append(record)
        return record

    def raw(self, line: bytes) -> None:
        """Append a line verbatim (for invalid input)."""
        self.records.append(line)

    def created(self, ticket: str, time: str, priority: str = "P2", **data: Any) -> dict[str, Any]:
        return self.add("ticket.created", ticket, time, {"priority": priority, **data})

    def lines(self) -> list[bytes]:
        return [r if isinstance(r, bytes) else orjson.dumps(r) for r in self.records]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.lines())


def small_policy(**spec: Any) -> SlaPolicy:
    """A 24x7 policy with round targets (minutes), overridable per ``spec`` key."""
    document: dict[str, Any] = {
        "apiVersion": "slamon/v1",
        "kind": "SlaPolicy",
        "metadata": {"name": "test"},
        "spec": {
            "warn_at": 0.75,
            "pause": ["resolution"],
            "priorities": {
                "P1": {"calendar": "24x7", "first_response": "10m", "onsite_arrival": "1h",
                       "resolution": "2h"},
                "P2": {"calendar": "24x7", "first_response": "30m", "onsite_arrival": "2h",
                       "resolution": "4h"},
                "P3": {"calendar": "24x7", "first_response": "1h", "onsite_arrival": "4h",
                       "resolution": "8h"},
                "P4": {"calendar": "24x7", "first_response": "2h", "onsite_arrival": "8h",
                       "resolution": "16h"},
            },
        },
    }  # fmt: skip
    document["spec"].update(spec)
    return policy_from_dict(document)
