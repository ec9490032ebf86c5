"""Records produced in batches: one aiokafka batch per (topic, partition) per flush.

A Faust ``topic.send`` costs ~100 µs a record here and aiokafka's ``send`` ~20 µs;
appending to a batch costs ~7 µs. The worker adds every output of a chunk of input
records (alerts, outcomes, dead letters, table changelog) and flushes once per
chunk, before Faust acks the chunk.

A flush returns only once the broker has acknowledged every record, so the input
chunk is acked after its outputs are written, never before (at-least-once). A batch
the broker did not take is sent again, with every later batch of its partition, so
the last record per key stays the last one (the changelog is compacted by key);
the flush retries with backoff until the broker is back. A record that can never be
sent (larger than a batch or than the topic's limit) is reported and dropped:
waiting would stall its partition forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, ItemsView, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import structlog
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import murmur2

log = structlog.get_logger("slamon.outbox")

Headers = list[tuple[str, bytes]]
Delivered = Callable[[int, int], None]
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0


class Pending(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None
    headers: Headers


@dataclass
class OutboxStats:
    """What went wrong so far, for metrics and readiness."""

    failed_flushes: int = 0  # flush attempts the broker did not fully acknowledge
    dropped: dict[str, int] = field(default_factory=dict)  # topic -> records never sendable
    stalled_since: float | None = None  # monotonic time the current retrying began
    # when the flush in progress began: aiokafka itself waits for a broker that does not
    # answer (up to Faust's producer_request_timeout), so a flush can wait without failing
    flushing_since: float | None = None

    def waiting_since(self) -> float | None:
        """Since when outputs have waited for the broker, if they wait."""
        times = [t for t in (self.stalled_since, self.flushing_since) if t is not None]
        return min(times) if times else None


class Batch(Protocol):
    """aiokafka's ``BatchBuilder``, as far as the outbox uses it."""

    def append(
        self, *, key: bytes | None, value: bytes | None, timestamp: int | None, headers: Headers
    ) -> object | None: ...

    def close(self) -> None: ...

    def record_count(self) -> int: ...


class BatchProducer(Protocol):
    """The part of ``AIOKafkaProducer`` the outbox needs (fakes implement just this)."""

    async def partitions_for(self, topic: str) -> set[int]: ...

    def create_batch(self) -> Any: ...

    async def send_batch(
        self, batch: Any, topic: str, *, partition: int
    ) -> asyncio.Future[Any]: ...


def partition_for(key: bytes | None, partitions: list[int], counter: int) -> int:
    """Kafka's default: murmur2 of the key (as the Java client and aiokafka do)."""
    if key is None:
        return partitions[counter % len(partitions)]
    return partitions[(int(murmur2(key)) & 0x7FFFFFFF) % len(partitions)]


class Outbox:
    """Buffers records until :meth:`flush`; the producer is looked up lazily."""

    def __init__(
        self, producer: Callable[[], BatchProducer], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._producer = producer
        self._clock = clock
        self._pending: list[Pending] = []
        self._partitions: dict[str, list[int]] = {}
        self._spread = 0
        self._lock = asyncio.Lock()  # one flush at a time: records keep the order they were added
        self._delivered: dict[str, Delivered] = {}
        self._last: set[str] = set()
        self.flushed = 0
        self.stats = OutboxStats()
        self.closing = False

    def on_delivered(self, topic: str, callback: Delivered) -> None:
        """Call ``callback(partition, last offset)`` once a batch of ``topic`` is written."""
        self._delivered[topic] = callback

    def write_last(self, topic: str) -> None:
        """Send ``topic``'s records only once every other pending record is written.

        For a table's changelog: a snapshot says which outcomes and alerts were sent, so
        it must never land without them (a crash between the two would lose them for good:
        the input read again finds the ticket already settled). The flush writes the other
        records first, then the snapshots.
        """
        self._last.add(topic)

    @contextlib.contextmanager
    def without_delivered(self) -> Iterator[None]:
        """No ``on_delivered`` callback inside the block (the catch-up writes a table's
        changelog while the table's store is not open: its recovery must read it all)."""
        kept, self._delivered = self._delivered, {}
        try:
            yield
        finally:
            self._delivered = kept

    def add(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None,
        headers: Headers | None = None,
    ) -> None:  # fmt: skip
        self._pending.append(Pending(topic, key, value, partition, headers or []))

    def __len__(self) -> int:
        return len(self._pending)

    def discard(self) -> int:
        """Forget what was added since the last flush (the catch-up abandoning a batch);
        how many records that was."""
        count, self._pending = len(self._pending), []
        return count

    def close(self) -> None:
        """The worker is stopping: a send that fails now is not retried.

        The producer goes away during a stop; retrying would log errors and hold the stop
        until its grace runs out. Nothing is lost: an agent's records are acked only after
        their flush (read again after the restart), and a clock alert whose ticket state
        was not yet persisted is found again by the restart's recovery.
        """
        self.closing = True

    async def flush(self) -> None:
        """Send everything added so far; return once the broker acknowledged all of it.

        The write-last topics' records go once all the others are acknowledged; when the
        worker is stopping and the others could not be sent, they are not sent either.
        """
        async with self._lock:
            if not self._pending:
                return
            self.stats.flushing_since = self._clock()
            pending, self._pending = self._pending, []
            first = [r for r in pending if r.topic not in self._last]
            last = [r for r in pending if r.topic in self._last] if self._last else []
            try:
                if await self._send_until_acknowledged(first):
                    await self._send_until_acknowledged(last)
                elif last:
                    log.info("snapshots not sent: their outputs were not", records=len(last))
            finally:
                self.stats.flushing_since = None

    async def _send_until_acknowledged(self, pending: list[Pending]) -> bool:
        """Send ``pending``, again after a failure; False if the worker stopped meanwhile."""
        delay = RETRY_FIRST_S
        while pending:
            error: BaseException | None
            try:
                retry, error = await self._flush(pending)
            except Exception as exc:  # no metadata, producer not ready: all again
                retry, error = pending, exc
            if not retry:
                break
            if self.closing:
                log.info("outputs not sent: the worker is stopping", records=len(retry),
                         error=f"{type(error).__name__}: {error}" if error else None)  # fmt: skip
                return False
            pending = retry
            self._stalled(error, len(retry))
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
        if self.stats.stalled_since is not None:
            log.info("outputs flowing again", stalled_s=round(
                self._clock() - self.stats.stalled_since, 1))  # fmt: skip
            self.stats.stalled_since = None
        return True

    def _stalled(self, error: BaseException | None, count: int) -> None:
        self.stats.failed_flushes += 1
        if self.stats.stalled_since is None:
            self.stats.stalled_since = self._clock()
        log.error("produce failed; retrying", records=count,
                  error=f"{type(error).__name__}: {error}" if error else None)  # fmt: skip

    def _drop(self, topic: str, partition: int, records: list[Pending], why: str) -> None:
        self.stats.dropped[topic] = self.stats.dropped.get(topic, 0) + len(records)
        sizes = [len(r.value or b"") + len(r.key or b"") for r in records]
        log.error("output record cannot be sent; dropped", topic=topic, partition=partition,
                  records=len(records), largest_bytes=max(sizes), reason=why)  # fmt: skip

    async def _partition(self, producer: BatchProducer, record: Pending) -> int:
        if record.partition is not None:
            return record.partition
        if record.topic not in self._partitions:
            self._partitions[record.topic] = sorted(await producer.partitions_for(record.topic))
        self._spread += 1
        return partition_for(record.key, self._partitions[record.topic], self._spread)

    async def _flush(self, pending: list[Pending]) -> tuple[list[Pending], BaseException | None]:
        """Send ``pending``; what to send again (a failed batch and what follows it), and why."""
        producer = self._producer()
        by_partition: dict[tuple[str, int], list[Pending]] = {}
        for record in pending:
            partition = await self._partition(producer, record)
            by_partition.setdefault((record.topic, partition), []).append(record)
        sent: list[tuple[tuple[str, int], list[Pending], asyncio.Future[Any]]] = []
        for (topic, partition), records in by_partition.items():
            for batch, members in self._batches(producer, topic, partition, records):
                future = await producer.send_batch(batch, topic, partition=partition)
                sent.append(((topic, partition), members, future))
        results = await asyncio.gather(*(f for _, _, f in sent), return_exceptions=True)
        retry: list[Pending] = []
        error: BaseException | None = None
        failed: set[tuple[str, int]] = set()
        for (where, members, _), result in zip(sent, results, strict=True):
            if where in failed:  # after a failed batch: again, to keep the order
                retry.extend(members)
            elif isinstance(result, MessageSizeTooLargeError):
                self._drop(where[0], where[1], members, "larger than the topic's limit")
            elif isinstance(result, BaseException):
                failed.add(where)
                retry.extend(members)
                error = result
            else:
                self._report(where, len(members), result)
        self.flushed += len(pending) - len(retry)
        return retry, error

    def _batches(
        self, producer: BatchProducer, topic: str, partition: int, records: list[Pending]
    ) -> list[tuple[Batch, list[Pending]]]:
        out: list[tuple[Batch, list[Pending]]] = []
        batch, members = producer.create_batch(), []
        for record in records:
            if batch.append(key=record.key, value=record.value, timestamp=None,
                            headers=record.headers) is not None:  # fmt: skip
                members.append(record)
                continue
            if members:  # full: close it and start another
                batch.close()
                out.append((batch, members))
                batch, members = producer.create_batch(), []
                if batch.append(key=record.key, value=record.value, timestamp=None,
                                headers=record.headers) is not None:  # fmt: skip
                    members.append(record)
                    continue
            self._drop(topic, partition, [record], "larger than a producer batch")
        if members:
            batch.close()
            out.append((batch, members))
        return out

    def _report(self, where: tuple[str, int], count: int, metadata: Any) -> None:
        callback = self._delivered.get(where[0])
        if callback is not None and count:
            callback(where[1], metadata.offset + count - 1)


class OutboxTopic:
    """One topic of an outbox as a sink with the ``send`` of the worker's ``Sink``."""

    def __init__(self, outbox: Outbox, topic: str) -> None:
        self.outbox = outbox
        self.topic = topic

    async def send(
        self, *, key: bytes | None, value: bytes | None, partition: int | None = None,
        headers: Headers | None = None,
    ) -> None:  # fmt: skip
        self.outbox.add(self.topic, key, value, partition, headers)


class ChangelogTable(MutableMapping[bytes, bytes]):
    """A table's store whose every write is also a changelog record, sent through the outbox.

    The same records as a Faust ``table[key] = value`` (key, value, the partition of the
    input being handled), at a fraction of the cost. ``store`` gives the mapping written
    (a Faust table's lazily opened store, or a dict while catching up); ``partition`` the
    partition of the record being handled.
    """

    def __init__(
        self, outbox: Outbox, changelog: str, store: Callable[[], MutableMapping[bytes, bytes]],
        partition: Callable[[], int],
    ) -> None:  # fmt: skip
        self.outbox, self.changelog = outbox, changelog
        self._store, self._partition = store, partition

    def __setitem__(self, key: bytes, value: bytes) -> None:
        partition = self._partition()
        self._store()[key] = value
        self.outbox.add(self.changelog, key, value, partition)

    def __delitem__(self, key: bytes) -> None:
        partition = self._partition()
        del self._store()[key]
        self.outbox.add(self.changelog, key, None, partition)  # tombstone

    def __getitem__(self, key: bytes) -> bytes:
        return self._store()[key]

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._store().keys()))

    def items(self) -> ItemsView[bytes, bytes]:
        # the store's own: a Faust rocksdb store walks its databases once, where the
        # mapping's default looks every key up again in each partition's database (~16 µs
        # a key: 24 s of a blocked event loop to rebuild 1M tickets)
        return self._store().items()

    def __len__(self) -> int:
        return len(self._store())
