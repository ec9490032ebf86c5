"""Table writes a changelog recovery may still undo, kept until a flush delivers them.

After a rebalance Faust recovers each table partition by replaying its changelog from
the store's persisted offset up to the high-water mark it read when recovery began.
A write whose changelog record still waited in the outbox then (a broker outage, a
retry backoff) lies beyond that mark: the replay puts an older value of the key over
it, and the ticket would be rebuilt without its latest events, whose input records
are acknowledged as soon as the outbox delivers. A recovery overlays these writes on
the table instead; a flush that no revocation interrupted settles them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable


class UnsettledWrites:
    """The latest value (None: deleted) and partition of each key written but unsettled."""

    def __init__(self) -> None:
        # key -> (write number, partition, value)
        self._writes: dict[bytes, tuple[int, int, bytes | None]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._writes)

    def record(self, key: bytes, partition: int, value: bytes | None) -> None:
        self._seq += 1
        self._writes[key] = (self._seq, partition, value)

    def mark(self) -> int:
        """A position to :meth:`settle` up to once the flush started now has returned."""
        return self._seq

    async def flush_settling(
        self, flush: Callable[[], Awaitable[None]], revocations: Callable[[], int]
    ) -> None:
        """``flush``, then settle what was written before it, unless a revocation came
        meanwhile (the recovery after it may have brought older values back)."""
        before, upto = revocations(), self.mark()
        await flush()
        if revocations() == before:  # delivered before any later recovery
            self.settle(upto)

    def settle(self, upto: int) -> None:
        """Forget writes up to ``upto``: the broker has them, before any later recovery."""
        if self._writes:
            self._writes = {k: w for k, w in self._writes.items() if w[0] > upto}

    def overlay(self, items: dict[bytes, bytes], active: Iterable[int]) -> list[bytes]:
        """Put the unsettled writes of ``active`` partitions over ``items`` (the table as
        recovered); the keys whose recovered value was not the latest one written."""
        owned = set(active)
        undone = []
        for key, (_, partition, value) in self._writes.items():
            if partition not in owned or items.get(key) == value:
                continue
            undone.append(key)
            if value is None:
                items.pop(key, None)
            else:
                items[key] = value
        return undone

    def keep_only(self, partitions: Iterable[int]) -> None:
        """Drop the writes of partitions this worker no longer owns (another rebuilds them)."""
        owned = set(partitions)
        self._writes = {k: w for k, w in self._writes.items() if w[1] in owned}

    def partition_of(self, key: bytes) -> int | None:
        write = self._writes.get(key)
        return None if write is None else write[1]
