"""The outbox: batched producing that keeps Kafka's partitioning and the order of records."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import structlog.testing
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from slamon.adapters.outbox import Outbox

PARTITIONS = [0, 1, 2]


class FakeBatch:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[tuple[bytes | None, bytes | None, list[Any]]] = []
        self.closed = False

    def append(
        self, *, key: bytes | None, value: bytes | None, timestamp: Any, headers: list[Any]
    ) -> object | None:
        assert timestamp is None
        if len(self.records) >= self.capacity:
            return None  # full, as aiokafka's BatchBuilder says it
        self.records.append((key, value, headers))
        return object()

    def close(self) -> None:
        self.closed = True

    def record_count(self) -> int:
        return len(self.records)


class FakeProducer:
    """Records what reaches 'the broker', in order; send_batch yields to the loop."""

    def __init__(self, capacity: int = 100) -> None:
        self.capacity = capacity
        self.sent: list[tuple[str, int, list[tuple[bytes | None, bytes | None, list[Any]]]]] = []
        self.failures: list[tuple[int, BaseException]] = []  # (partition, error) for next sends

    async def partitions_for(self, topic: str) -> set[int]:
        return set(PARTITIONS)

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.capacity)

    async def send_batch(
        self, batch: FakeBatch, topic: str, *, partition: int
    ) -> asyncio.Future[Any]:
        assert batch.closed
        # partition 0 is slow to accept: another flush could overtake meanwhile
        await asyncio.sleep(0.02 if partition == 0 else 0)
        delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        for index, (failing, error) in enumerate(self.failures):
            if failing == partition:  # the broker does not take this batch
                del self.failures[index]
                delivered.set_exception(error)
                return delivered
        base = sum(len(r) for t, p, r in self.sent if (t, p) == (topic, partition))
        self.sent.append((topic, partition, list(batch.records)))
        delivered.set_result(SimpleNamespace(offset=base))  # RecordMetadata: the base offset
        return delivered


def _values(producer: FakeProducer, topic: str, partition: int) -> list[bytes | None]:
    return [v for t, p, records in producer.sent if (t, p) == (topic, partition)
            for _, v, _ in records]  # fmt: skip


@pytest.mark.asyncio
async def test_keyed_records_land_where_kafkas_default_partitioner_puts_them() -> None:
    """murmur2 of the key, like the Java client and aiokafka: consumers find a ticket's records."""
    producer = FakeProducer()
    outbox = Outbox(lambda: producer)
    keys = [f"T-{i}".encode() for i in range(50)]
    for key in keys:
        outbox.add("alerts", key, b"v:" + key)
    await outbox.flush()
    expected = DefaultPartitioner()
    for topic, partition, records in producer.sent:
        assert topic == "alerts"
        for record_key, _, _ in records:
            assert partition == expected(record_key, PARTITIONS, PARTITIONS)
    assert sum(len(r) for _, _, r in producer.sent) == 50
    assert outbox.flushed == 50


@pytest.mark.asyncio
async def test_explicit_partition_and_headers_are_kept() -> None:
    """A changelog record goes to the partition it is given, with its headers."""
    producer = FakeProducer()
    outbox = Outbox(lambda: producer)
    outbox.add("changelog", b"T-1", b"snap", 2, [("h", b"1")])
    outbox.add("changelog", b"T-1", None, 2)  # a tombstone
    await outbox.flush()
    assert producer.sent == [("changelog", 2, [(b"T-1", b"snap", [("h", b"1")]),
                                               (b"T-1", None, [])])]  # fmt: skip
    assert len(outbox) == 0


@pytest.mark.asyncio
async def test_a_full_batch_is_sent_and_order_is_kept() -> None:
    """Records beyond a batch's capacity start a new batch; the partition's order holds."""
    producer = FakeProducer(capacity=3)
    outbox = Outbox(lambda: producer)
    for i in range(7):
        outbox.add("outcomes", b"k", str(i).encode(), 1)
    await outbox.flush()
    assert [len(records) for _, _, records in producer.sent] == [3, 3, 1]
    assert _values(producer, "outcomes", 1) == [str(i).encode() for i in range(7)]


@pytest.mark.asyncio
async def test_concurrent_flushes_do_not_reorder_a_partition() -> None:
    """A flush started while another is sending waits: a retraction never overtakes its breach."""
    producer = FakeProducer()
    outbox = Outbox(lambda: producer)
    outbox.add("alerts", b"other", b"first-q", 0)
    outbox.add("alerts", b"T", b"breached", 1)
    first = asyncio.create_task(outbox.flush())
    await asyncio.sleep(0)  # the first flush is now inside send_batch
    outbox.add("alerts", b"T", b"retracted", 1)
    await asyncio.gather(first, outbox.flush())
    assert _values(producer, "alerts", 1) == [b"breached", b"retracted"]


@pytest.mark.asyncio
async def test_delivery_reports_the_last_offset_of_each_batch() -> None:
    """The table's persisted offset follows the changelog: last offset of each written batch."""
    producer = FakeProducer(capacity=2)
    outbox = Outbox(lambda: producer)
    seen: list[tuple[int, int]] = []
    outbox.on_delivered("changelog", lambda partition, offset: seen.append((partition, offset)))
    for i in range(3):  # batches of 2 then 1: offsets 0-1, then 2
        outbox.add("changelog", b"T", str(i).encode(), 0)
    outbox.add("alerts", b"T", b"a", 1)  # no callback for this topic
    await outbox.flush()
    await asyncio.sleep(0)  # done-callbacks run on the next loop turn
    assert seen == [(0, 1), (0, 2)]


@pytest.mark.asyncio
async def test_a_batch_the_broker_refused_is_sent_again_with_what_followed_it() -> None:
    """Flush returns only once all is acknowledged; the partition's last record stays last."""
    producer = FakeProducer(capacity=2)
    producer.failures = [(1, KafkaConnectionError("broker gone"))]
    outbox = Outbox(lambda: producer)
    for i in range(5):  # batches [0,1] (refused), [2,3], [4] on partition 1
        outbox.add("changelog", b"T", str(i).encode(), 1)
    outbox.add("alerts", b"A", b"a", 2)
    await outbox.flush()
    # [2,3] and [4] were written the first time, then again after [0,1]: order holds at the end
    assert _values(producer, "changelog", 1) == [b"2", b"3", b"4", b"0", b"1", b"2", b"3", b"4"]
    assert _values(producer, "alerts", 2) == [b"a"]  # another partition is not sent twice
    assert outbox.stats.failed_flushes == 1
    assert outbox.stats.stalled_since is None  # flowing again
    assert len(outbox) == 0


@pytest.mark.asyncio
async def test_no_metadata_for_a_topic_means_retry_not_loss() -> None:
    """A producer that cannot look a topic up yet: the flush waits and tries again."""
    producer = FakeProducer()
    calls = 0
    real = producer.partitions_for

    async def flaky(topic: str) -> set[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KafkaTimeoutError("no metadata")
        return await real(topic)

    producer.partitions_for = flaky  # type: ignore[method-assign]
    outbox = Outbox(lambda: producer)
    outbox.add("alerts", b"T", b"breached")
    await outbox.flush()
    assert [v for _, _, records in producer.sent for _, v, _ in records] == [b"breached"]
    assert outbox.stats.failed_flushes == 1


@pytest.mark.asyncio
async def test_records_that_can_never_be_sent_are_reported_and_the_rest_goes() -> None:
    """Too large for a batch, or for the topic: dropped with a count, never a stalled partition."""
    producer = FakeProducer(capacity=2)
    producer.failures = [(0, MessageSizeTooLargeError())]
    outbox = Outbox(lambda: producer)
    outbox.add("dead-letter", b"K", b"too large for the topic", 0)
    outbox.add("alerts", b"T", b"ok", 1)
    with structlog.testing.capture_logs() as logs:
        await outbox.flush()
    assert _values(producer, "alerts", 1) == [b"ok"]
    assert _values(producer, "dead-letter", 0) == []
    assert outbox.stats.dropped == {"dead-letter": 1}
    [dropped] = [e for e in logs if e["event"] == "output record cannot be sent; dropped"]
    assert (dropped["topic"], dropped["partition"], dropped["log_level"]) == (
        "dead-letter", 0, "error")  # fmt: skip


@pytest.mark.asyncio
async def test_a_record_larger_than_an_empty_batch_is_dropped_and_reported() -> None:
    """aiokafka's batch refuses it even when empty: reported, not silently skipped."""
    producer = FakeProducer(capacity=0)
    outbox = Outbox(lambda: producer)
    outbox.add("outcomes", b"T", b"x" * 10, 3)
    await outbox.flush()
    assert producer.sent == []
    assert outbox.stats.dropped == {"outcomes": 1}


@pytest.mark.asyncio
async def test_a_flush_in_progress_is_visible_until_it_returns() -> None:
    """While a flush waits for the broker, the outbox says since when; after, it says none."""
    producer = FakeProducer()
    outbox = Outbox(lambda: producer, clock=lambda: 42.0)
    outbox.add("alerts", b"T", b"a", 0)  # partition 0 is slow to accept
    flushing = asyncio.create_task(outbox.flush())
    await asyncio.sleep(0.005)
    assert outbox.stats.waiting_since() == 42.0
    await flushing
    assert outbox.stats.waiting_since() is None


@pytest.mark.asyncio
async def test_a_stopping_outbox_tries_once_and_does_not_retry_or_log_errors() -> None:
    """Closed (the worker stops): what sends goes; a failing send is given up at info level
    at once, not retried with error logs until the stop's grace runs out."""
    producer = FakeProducer()
    producer.failures = [(1, KafkaConnectionError())]
    outbox = Outbox(lambda: producer)
    outbox.close()
    outbox.add("alerts", None, b"p0", partition=0)
    outbox.add("alerts", None, b"p1", partition=1)
    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(outbox.flush(), timeout=1)
    assert _values(producer, "alerts", 0) == [b"p0"]
    assert _values(producer, "alerts", 1) == []
    assert [(e["log_level"], e["event"]) for e in logs] == [
        ("info", "outputs not sent: the worker is stopping")
    ]
    assert logs[0]["records"] == 1


@pytest.mark.asyncio
async def test_write_last_records_go_only_after_every_other_record_is_acknowledged() -> None:
    """A snapshot says which alerts and outcomes were sent: a flush writes those first,
    also when one of their batches has to be sent again, and the changelog after them."""
    producer = FakeProducer()
    producer.failures = [(1, KafkaConnectionError("broker gone"))]
    outbox = Outbox(lambda: producer)
    outbox.write_last("changelog")
    outbox.add("changelog", b"T", b"snapshot", 2)  # added first, but written last
    outbox.add("outcomes", b"T", b"outcome", 1)  # refused once
    outbox.add("alerts", b"T", b"breach", 0)
    await outbox.flush()
    assert [topic for topic, _p, _r in producer.sent] == ["alerts", "outcomes", "changelog"]
    assert len(outbox) == 0


@pytest.mark.asyncio
async def test_a_stopping_outbox_sends_no_snapshot_whose_outputs_it_could_not_send() -> None:
    """Stopping, an outcome the broker refused is given up: its ticket's snapshot is not
    sent either, so the input read again after the restart settles the ticket anew."""
    producer = FakeProducer()
    producer.failures = [(1, KafkaConnectionError())]
    outbox = Outbox(lambda: producer)
    outbox.write_last("changelog")
    outbox.close()
    outbox.add("outcomes", b"T", b"outcome", 1)
    outbox.add("changelog", b"T", b"snapshot", 2)
    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(outbox.flush(), timeout=1)
    assert producer.sent == []
    assert [e["event"] for e in logs] == [
        "outputs not sent: the worker is stopping",
        "snapshots not sent: their outputs were not",
    ]
