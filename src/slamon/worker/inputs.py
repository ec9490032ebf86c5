"""Input records the consumer skipped: found from the offsets, and read again.

Offsets of the input topic are consecutive, and the service handles each record
once it comes; a record whose offset is past the next one expected means records
in between never reached the agent. That happened in a fault test (a partition kept
by the survivor across a rebalance after a broker SIGKILL lost two records), as in
faust-streaming issues #216 and #221: a record prefetched before a rebalance reaches the
stream after it, past the committed offset, and Faust takes the jump for a gap.
Reading a record twice is harmless (the engine dedupes each ticket's events); never
reading it loses its event. So on a gap the consumer is sent back to the first missing
offset, and the records that arrive until the gap is read are skipped, to come again
in order. Faust fills an offset gap as acknowledged (for transaction markers) and
would commit past it; until the re-read brings the missing records the commit is
held at the first of them (``held``), so a crash before then reads them again too.

A gap that comes back the same after a re-read is real (transaction markers, a
compacted or expired log segment) and is accepted; so is one still there after
``MAX_ATTEMPTS`` re-reads. Either is logged and counted.

Records dropped at the end of a partition show no gap: nothing comes after them. So
a partition whose next offset has not moved for ``STUCK_NS`` while the broker holds
records past it is read again from there too (and accepted as a real gap after
``TAIL_ATTEMPTS`` tries with nothing new: a transaction marker at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger("slamon.worker")

MAX_ATTEMPTS = 5
STUCK_NS = 10 * 1_000_000_000  # no progress this long with records waiting: read again
TAIL_ATTEMPTS = 3  # the third time the same tail is stuck, it is accepted


class Consumer(Protocol):
    """The input topic's consumer, as the check needs it."""

    def committed(self, partition: int) -> int | None:
        """The partition's committed offset (the next to read after a rebalance), if any."""

    async def seek(self, partition: int, offset: int) -> None:
        """Read the partition again from ``offset``."""

    def highwater(self, partition: int) -> int | None:
        """The offset after the partition's last record, as last fetched (None: unknown)."""


@dataclass
class _Reread:
    start: int  # the first missing offset, where the consumer was sent back
    first_after: int  # the offset that came instead of it
    last: int  # the highest offset seen since: a lower one means the read restarted
    attempts: int = 1


class InputPositions:
    """The next input offset per partition, and the re-reads of gaps in progress."""

    def __init__(self, count: Callable[[str], None], consumer: Consumer | None = None,
                 stream: str = "events") -> None:  # fmt: skip
        self.count = count  # "reread" or "accepted", for the metrics
        self.stream = stream  # which topic, in the logs: "events" or "assets"
        self.consumer = consumer  # None: nothing to seek with, the check is off
        self.expected: dict[int, int] = {}  # partition -> next offset to handle
        self._rereads: dict[int, _Reread] = {}
        self._assigned: set[int] = set()  # owned now, whether or not a record came
        self._still: dict[int, tuple[int, int]] = {}  # partition -> (next offset, since ns)
        self._tails: dict[int, tuple[int, int, int]] = {}  # -> (next, highwater, attempts)
        self._held: dict[int, int] = {}  # revoked mid re-read: held until assigned again

    def held(self, partition: int) -> int | None:
        """The offset the partition's commit must not pass (None: no limit)."""
        reread = self._rereads.get(partition)
        return reread.start if reread is not None else self._held.get(partition)

    def assigned(self, partitions: set[int]) -> None:
        """The partitions owned after a recovery: each is watched even if no record of
        it ever comes (the consumer may drop every one of them)."""
        self._assigned = set(partitions)
        for partition in partitions:  # reads again from its committed offset
            self._held.pop(partition, None)

    def forget(self, partitions: set[int]) -> None:
        """Partitions revoked: their offsets start again from the committed one."""
        self._assigned -= partitions
        for partition in partitions:
            if (reread := self._rereads.get(partition)) is not None:
                self._held[partition] = reread.start  # Faust may commit at the revoke
            for state in (self.expected, self._rereads, self._still, self._tails):
                state.pop(partition, None)

    async def admit(self, partition: int, offset: int) -> bool:
        """True: handle this record now. False: skip it; it comes again after the gap."""
        expected = self.expected.get(partition)
        if self.consumer is None:
            self.expected[partition] = max(offset + 1, expected or 0)
            return True
        if expected is None:
            expected = self.consumer.committed(partition)
        reread = self._rereads.get(partition)
        if reread is None and (expected is None or offset <= expected):
            self.expected[partition] = max(offset + 1, expected or 0)
            return True
        if reread is None:
            assert expected is not None
            self._rereads[partition] = _Reread(expected, offset, offset)
            await self._read_again(partition, expected, offset, attempts=1)
            return False
        return await self._during_reread(partition, offset, reread)

    async def _during_reread(self, partition: int, offset: int, reread: _Reread) -> bool:
        if offset <= reread.start:  # the missing records come: the re-read worked
            del self._rereads[partition]
            self.expected[partition] = offset + 1
            return True
        if offset > reread.last:  # still in flight from before the seek: comes again
            reread.last = offset
            return False
        # the read restarted, and still past the gap
        if offset == reread.first_after or reread.attempts >= MAX_ATTEMPTS:
            self.count("accepted")
            log.warning("input offsets missing after a re-read; accepted (transaction "
                        "markers, compaction or expired segments)", stream=self.stream,
                        partition=partition, missing=f"{reread.start}..{offset - 1}",
                        attempts=reread.attempts)  # fmt: skip
            del self._rereads[partition]
            self.expected[partition] = offset + 1
            return True
        reread.attempts += 1
        reread.first_after = reread.last = offset
        await self._read_again(partition, reread.start, offset, attempts=reread.attempts)
        return False

    async def resume_stuck(self, now: int) -> None:
        """Read again partitions whose records stopped short of the broker's highwater."""
        if self.consumer is None:
            return
        for partition in self._assigned - self.expected.keys():  # none came yet
            committed = self.consumer.committed(partition)
            if committed is not None:
                self.expected[partition] = committed
        for partition, expected in list(self.expected.items()):
            still = self._still.get(partition)
            if still is None or still[0] != expected:
                self._still[partition] = (expected, now)
                continue
            high = self.consumer.highwater(partition)
            if partition in self._rereads or high is None or high <= expected:
                continue
            if now - still[1] < STUCK_NS:
                continue
            tail = self._tails.get(partition)
            attempts = tail[2] + 1 if tail is not None and tail[:2] == (expected, high) else 1
            if attempts > TAIL_ATTEMPTS:
                continue  # accepted, until the partition moves
            self._tails[partition] = (expected, high, attempts)
            self._still[partition] = (expected, now)  # give the re-read its time
            if attempts == TAIL_ATTEMPTS:
                self.count("accepted")
                log.warning("input offsets at the end of a partition never came; accepted "
                            "(a transaction marker?)", stream=self.stream, partition=partition,
                            missing=f"{expected}..{high - 1}")  # fmt: skip
                continue
            await self._read_again(partition, expected, high, attempts=attempts)

    async def _read_again(self, partition: int, start: int, got: int, *, attempts: int) -> None:
        assert self.consumer is not None
        self.count("reread")
        log.error("input records skipped by the consumer; reading them again",
                  stream=self.stream, partition=partition, missing=f"{start}..{got - 1}",
                  attempt=attempts)  # fmt: skip
        await self.consumer.seek(partition, start)
