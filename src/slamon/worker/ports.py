"""What the worker's service talks to: Kafka records in, sinks and the live board out.

Protocols, so that production (Faust, the batching outbox) and the tests (lists,
``slamon.testing``) plug in the same way.
"""

from __future__ import annotations

from typing import Any, Protocol

from slamon.core.decisions import Outcome


class Sink(Protocol):
    """Where records go: the batching outbox in production, a list in unit tests."""

    async def send(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...


class Board(Protocol):
    """The live board (windowed tables); optional, dashboards only."""

    def add(self, outcome: Outcome, partition: int) -> None: ...

    def flush(self, partition: int, now: int) -> None: ...

    def drop(self, partitions: set[int]) -> None: ...

    def stale(self, now: int) -> list[int]: ...


class Record(Protocol):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any
    timestamp: float | None  # seconds: when the broker (or producer) stamped it


def headers_of(record: Record) -> list[tuple[str, bytes]]:
    """A record's headers as a list of pairs (Faust gives a list or a dict)."""
    headers = record.headers or []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)
