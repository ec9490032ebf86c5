"""Faust's and aiokafka's private API as the worker uses it: each test fails loudly on an
upgrade that moves or changes one of them (see slamon/adapters/private_api.py)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import faust
import faust.transport.consumer
import pytest
import structlog.testing
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.consumer.fetcher import Fetcher
from faust.events import Event
from faust.exceptions import NotReady
from faust.tables.recovery import RebalanceAgain, Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP
from faust.types.tuples import Message
from intervaltree import IntervalTree

from slamon.adapters.kafka import refresh_metadata
from slamon.adapters.private_api import (
    FaustInputs,
    RocksdbPartitions,
    aiokafka_producer,
    broker_answers,
    completed_recoveries_keep_changelog_records,
    current_partition,
    gap_fills_count_each_offset_once,
    open_rocksdbs,
    paused_partitions_are_never_fetched,
    recovery_position,
    recovery_superseded,
    resume_keeping,
    revoked_partitions_commit_first,
    set_current_event,
    set_persisted_offset,
    superseded_seeks_restart_the_recovery,
    without_builtin_pages,
)


def _app(tmp_path: Path, store: str = "memory://") -> faust.App:
    return faust.App("private-api-test", broker="kafka://127.0.0.1:1", store=store,
                     datadir=str(tmp_path), autodiscover=False, web_enabled=False)  # fmt: skip


def test_the_current_event_set_by_hand_is_the_one_table_stores_read(tmp_path: Path) -> None:
    """Setting the current event makes its partition visible to the table write path."""
    app = _app(tmp_path)
    message = Message("events", 7, 42, 0.0, 0, [], b"T1", b"{}", None)
    assert current_partition() is None
    event = Event(app, b"T1", b"{}", [], message)  # held: Faust keeps only a weak reference
    set_current_event(event)
    assert current_partition() == 7
    assert faust.streams.current_event() is not None


def test_take_events_is_still_a_stream_method() -> None:
    """The agent reads chunks with ``Stream.take_events`` (not in Faust's typed API)."""
    parameters = inspect.signature(faust.Stream.take_events).parameters
    assert {"max_", "within"} <= parameters.keys()


@pytest.mark.asyncio
async def test_the_underlying_aiokafka_producer_is_reached_and_not_ready_before_start(
    tmp_path: Path,
) -> None:
    """Faust's producer wraps an aiokafka one: before start, NotReady (not AttributeError)."""
    app = _app(tmp_path)
    with pytest.raises(NotReady):
        aiokafka_producer(app)


def test_a_persisted_changelog_offset_is_read_back_by_the_rocksdb_store(tmp_path: Path) -> None:
    """The offset recovery resumes from is the one the worker stores after a delivery."""
    app = _app(tmp_path, store="rocksdb://")
    table = cast("faust.Table[Any, Any]", app.Table("t", partitions=2))
    set_persisted_offset(table, "private-api-test-t-changelog", 1, 1234)
    assert table.data.persisted_offset(TP("x", 1)) == 1234


def test_a_rocksdb_tables_open_databases_are_listed_and_a_memory_tables_are_none(
    tmp_path: Path,
) -> None:
    """One database per partition the store opened (writing an offset opens one)."""
    app = _app(tmp_path, store="rocksdb://")
    table = cast("faust.Table[Any, Any]", app.Table("t", partitions=2))
    assert open_rocksdbs(table) == []
    set_persisted_offset(table, "private-api-test-t-changelog", 1, 1234)
    (db,) = open_rocksdbs(table)
    assert db.property_int_value("rocksdb.cur-size-all-mem-tables") > 0
    in_memory = cast("faust.Table[Any, Any]", _app(tmp_path / "m").Table("m", partitions=2))
    assert open_rocksdbs(in_memory) == []


def test_partition_databases_written_directly_are_what_faust_recovers_from(
    tmp_path: Path,
) -> None:
    """The catch-up's writes (outside an agent) land in the partition's database that a
    later Faust store of the same table reads, with the offset its recovery resumes after;
    clearing removes a partition's data and leaves the others."""
    app = _app(tmp_path, store="rocksdb://")
    table = cast("faust.Table[Any, Any]", app.Table("t", partitions=2))
    files = RocksdbPartitions(table)
    files.put(0, b"k0", b"v0")
    files.put(1, b"k1", b"v1")
    files.put(1, b"gone", b"x")
    files.delete(1, b"gone")
    files.set_offset("private-api-test-t-changelog", 1, 41)
    files.clear(range(1))
    for db in open_rocksdbs(table):
        db.close()
    again = cast(
        "faust.Table[Any, Any]", _app(tmp_path, store="rocksdb://").Table("t", partitions=2)
    )
    store: Any = again.data
    assert store._db_for_partition(0).get(b"k0") is None
    assert store._db_for_partition(1).get(b"k1") == b"v1"
    assert store._db_for_partition(1).get(b"gone") is None
    assert again.data.persisted_offset(TP("x", 1)) == 41


@pytest.mark.asyncio
async def test_metadata_refresh_is_a_coroutine_of_the_consumers_client() -> None:
    """``follow`` refreshes metadata for a topic created a moment ago through the client."""
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    try:
        waiter = consumer._client.force_metadata_update()  # what refresh_metadata awaits
        assert isinstance(waiter, asyncio.Future)
        waiter.cancel()
        assert inspect.iscoroutinefunction(refresh_metadata)
    finally:
        await consumer.stop()


def test_faust_builtin_pages_can_all_be_dropped_before_the_server_starts(tmp_path: Path) -> None:
    """Faust's blueprints (tables, router, index...) are listed where we clear them."""
    app = _app(tmp_path)
    assert app.web.blueprints._enabled  # Faust enables some by default
    without_builtin_pages(app)
    assert app.web.blueprints._enabled == []


def test_the_signal_hook_a_bounded_stop_relies_on_is_still_there() -> None:
    """mode starts a stop from ``_schedule_shutdown(signal)``; the spinner is an attribute."""
    import mode  # noqa: PLC0415

    hook = mode.Worker._schedule_shutdown
    assert list(inspect.signature(hook).parameters) == ["self", "signal"]
    assert "spinner" in faust.Worker.__annotations__


@pytest.mark.asyncio
async def test_the_broker_probe_says_no_for_a_producer_that_never_started(tmp_path: Path) -> None:
    """Before start (NotReady) or without a broker, the probe answers False, never raises."""
    assert await broker_answers(_app(tmp_path), timeout_s=0.1) is False


@pytest.mark.asyncio
async def test_the_probe_reaches_the_aiokafka_client_metadata_refresh() -> None:
    """It awaits ``AIOKafkaProducer.client.force_metadata_update()``: a future of a bool."""
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")
    try:
        waiter = producer.client.force_metadata_update()
        assert isinstance(waiter, asyncio.Future)
        waiter.cancel()
    finally:
        await producer.stop()


def test_the_recovery_position_moves_with_the_changelog_offsets_read(tmp_path: Path) -> None:
    """The watchdog's view: ``tables.recovery.in_recovery`` and its ``active_offsets``."""
    app = _app(tmp_path)
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    before = recovery_position(app)
    assert before == (False, ())
    recovery.active_offsets[TP("t-changelog", 1)] = 41
    recovery.active_offsets[TP("t-changelog", 0)] = 7
    moved = recovery_position(app)
    assert moved == (False, ((TP("t-changelog", 0), 7), (TP("t-changelog", 1), 41)))
    recovery.active_offsets[TP("t-changelog", 1)] = 42
    assert recovery_position(app) != moved
    assert {moved: 1}[moved] == 1  # hashable: the watchdog keeps and compares it


@pytest.mark.asyncio
async def test_the_committed_offset_and_the_seek_the_input_check_uses() -> None:
    """``Consumer._committed_offset`` (filled by perform_seek and by commits) and Faust's
    ``Consumer.seek``, which also resets the offset Faust reads from so the records come
    again: run on a stand-in consumer (a real one needs a broker)."""
    sought: list[tuple[TP, int]] = []

    async def _seek(partition: TP, offset: int) -> None:  # the driver's part
        sought.append((partition, offset))

    quiet = SimpleNamespace(dev=lambda *a, **k: None)
    consumer = SimpleNamespace(_committed_offset=defaultdict(lambda: None), _read_offset={},
                               _seek=_seek, log=quiet,
                               _filter_committable_offsets=lambda tps: {})  # fmt: skip
    real_seek = faust.transport.consumer.Consumer.seek
    consumer.seek = lambda tp, offset: real_seek(cast(Any, consumer), tp, offset)
    inputs = FaustInputs(cast(faust.App, SimpleNamespace(consumer=consumer)), "events")
    assert inputs.committed(3) is None
    consumer._committed_offset[TP("events", 3)] = 41
    assert inputs.committed(3) == 41
    assert inputs.committed(4) is None
    await inputs.seek(3, 12)
    assert sought == [(TP("events", 3), 12)]
    assert consumer._read_offset[TP("events", 3)] == 12
    consumer.highwater = lambda tp: {TP("events", 3): 9}[tp]  # the driver's answer
    assert inputs.highwater(3) == 9
    assert inputs.highwater(4) is None  # not assigned: unknown, never an error
    assert list(inspect.signature(faust.transport.consumer.Consumer.highwater).parameters) == [
        "self",
        "tp",
    ]
    init = inspect.getsource(faust.transport.consumer.Consumer.__init__)
    assert "self._committed_offset = defaultdict" in init


def _committing_consumer(committed: int) -> Any:
    """A stand-in consumer with Faust's own commit arithmetic (acks, gap fill), after
    records 10..13 were dropped and 14, 15 came and were acknowledged."""
    real = faust.transport.consumer.Consumer
    tp = TP("events", 0)
    consumer = SimpleNamespace(_committed_offset=defaultdict(lambda: None, {tp: committed}),
                               _acked=defaultdict(list, {tp: [14, 15]}),
                               _acked_index=defaultdict(set, {tp: {14, 15}}),
                               _gap=defaultdict(IntervalTree))  # fmt: skip
    for name in ("_filter_committable_offsets", "_new_offset", "_should_commit", "_add_gap"):
        setattr(consumer, name, getattr(real, name).__get__(consumer))
    asyncio.run(consumer._add_gap(tp, 10, 13))  # what Faust's fetcher does on the jump
    return consumer


@pytest.mark.parametrize(("committed", "expected"), [(9, {TP("events", 0): 10}), (10, {})])
def test_commits_are_held_before_a_gap_being_read_again(
    committed: int, expected: dict[TP, int]
) -> None:
    """Faust's gap fill alone commits 16, past the dropped 10..13; held at 10, the commit
    stops there (or is not made when 10 is committed already). ``_filter_committable_offsets``
    is where Faust picks each commit's offsets."""
    assert _committing_consumer(committed)._filter_committable_offsets([TP("events", 0)]) == {
        TP("events", 0): 16
    }
    consumer, holds = _committing_consumer(committed), {0: 10}
    inputs = FaustInputs(cast(faust.App, SimpleNamespace(consumer=consumer)), "events",
                         held=holds.get)  # fmt: skip
    inputs._hold_commits()
    assert consumer._filter_committable_offsets([TP("events", 0)]) == expected
    consumer._committed_offset.update(expected)
    holds.clear()  # the re-read came: 10..15 delivered and acknowledged again
    consumer._acked[TP("events", 0)].extend(range(10, 16))
    consumer._acked_index[TP("events", 0)].update(range(10, 16))
    assert consumer._filter_committable_offsets([TP("events", 0)]) == {TP("events", 0): 16}


def _reread_consumer(new_offset: Any) -> Any:
    """A stand-in consumer with Faust's commit arithmetic and ``new_offset`` for its
    ``_new_offset``: committed up to 10; 10, 11 acknowledged; Faust jumped from 11 to 20
    (its gap 12..19 recorded) and the records 12..19 were read again and acknowledged."""
    real = faust.transport.consumer.Consumer
    tp = TP("events", 0)
    consumer = SimpleNamespace(_committed_offset=defaultdict(lambda: None, {tp: 10}),
                               _acked=defaultdict(list, {tp: [10, 11, 20]}),
                               _acked_index=defaultdict(set, {tp: {10, 11, 20}}),
                               _gap=defaultdict(IntervalTree))  # fmt: skip
    for name in ("_filter_committable_offsets", "_should_commit", "_add_gap"):
        setattr(consumer, name, getattr(real, name).__get__(consumer))
    consumer._new_offset = new_offset.__get__(consumer)
    asyncio.run(consumer._add_gap(tp, 12, 19))  # what Faust's fetcher does on the jump
    consumer._acked[tp].extend(range(12, 20))
    consumer._acked_index[tp].update(range(12, 20))
    return consumer


def _commits_to_reach(consumer: Any, offset: int) -> int:
    """How many commits it takes until ``offset`` is committed (at most 50)."""
    tp = TP("events", 0)
    for commits in range(1, 51):
        consumer._committed_offset.update(consumer._filter_committable_offsets([tp]))
        if consumer._committed_offset[tp] >= offset:
            return commits
    return 51


def test_faust_alone_commits_a_gap_read_again_one_offset_at_a_time() -> None:
    """Why ``gap_fills_count_each_offset_once`` exists: Faust's own ``_new_offset`` adds
    the gap's offsets to the acknowledged ones a second time, and each commit then stops
    at the first doubled offset."""
    real = faust.transport.consumer.Consumer._new_offset
    consumer = _reread_consumer(getattr(real, "slamon_original", real))
    assert _commits_to_reach(consumer, 21) > 5


def test_with_the_gap_folded_once_one_commit_passes_a_gap_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Patched (once, however often asked), the first commit after the re-read reaches
    the offset after the last record, and nothing of the gap is left to fold again."""
    real = faust.transport.consumer.Consumer._new_offset
    monkeypatch.setattr(faust.transport.consumer.Consumer, "_new_offset",
                        getattr(real, "slamon_original", real))  # fmt: skip
    gap_fills_count_each_offset_once()
    gap_fills_count_each_offset_once()
    patched = faust.transport.consumer.Consumer._new_offset
    assert getattr(patched, "slamon_original", None) is getattr(real, "slamon_original", real)
    consumer = _reread_consumer(patched)
    assert _commits_to_reach(consumer, 21) == 1
    assert consumer._committed_offset[TP("events", 0)] == 21
    assert not consumer._gap[TP("events", 0)]
    assert consumer._acked[TP("events", 0)] == []


def _revoking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    """An app's consumer whose partition ("events", 0) acknowledged 5 and 6; what its
    commit and the app's revoke handler saw of those acknowledgements, in order."""
    consumer: Any = _app(tmp_path).consumer
    tp, seen = TP("events", 0), []
    consumer._acked[tp] = [5, 6]

    async def commit(topics: Any = None, **_: Any) -> bool:
        seen.append(f"commit {sorted(topics)} acked={consumer._acked.get(tp)}")
        return True

    async def app_revoked(revoked: set[TP]) -> None:
        seen.append(f"app handler acked={consumer._acked.get(tp)}")

    monkeypatch.setattr(consumer, "commit", commit)
    monkeypatch.setattr(consumer, "_on_partitions_revoked", app_revoked)
    consumer._thread.thread_loop.close()  # the consumer thread's own loop: never started
    return consumer, seen


@pytest.mark.asyncio
async def test_faust_forgets_a_revoked_partitions_acknowledgements_before_its_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why ``revoked_partitions_commit_first`` exists: by the time the app's revoke
    handler (which commits) runs, Faust has dropped the acknowledged offsets."""
    consumer, seen = _revoking(tmp_path, monkeypatch)
    real = faust.transport.consumer.Consumer.on_partitions_revoked
    await getattr(real, "slamon_original", real)(consumer, {TP("events", 0)})
    assert seen == ["app handler acked=None"]


@pytest.mark.asyncio
async def test_a_revocation_commits_the_acknowledged_offsets_before_faust_drops_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patched (once, however often asked), the revoked partitions are committed first,
    with their acknowledgements still there; then Faust's own revocation runs."""
    real = faust.transport.consumer.Consumer.on_partitions_revoked
    monkeypatch.setattr(faust.transport.consumer.Consumer, "on_partitions_revoked",
                        getattr(real, "slamon_original", real))  # fmt: skip
    revoked_partitions_commit_first()
    revoked_partitions_commit_first()
    consumer, seen = _revoking(tmp_path, monkeypatch)
    await consumer.on_partitions_revoked({TP("events", 0)})
    assert seen == ["commit [TP(topic='events', partition=0)] acked=[5, 6]",
                    "app handler acked=None"]  # fmt: skip


def test_a_recovery_is_superseded_by_a_newer_generation_or_the_next_recovery_signal(
    tmp_path: Path,
) -> None:
    """``recovery_superseded``: the consumer's generation moved past the recovery's, or
    ``Recovery.signal_recovery_start`` is set (what ``Recovery.on_rebalance`` does)."""
    app = _app(tmp_path)
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    assert not recovery_superseded(app)
    app.consumer_generation_id = recovery._generation_id + 1  # joined, not yet rebalanced
    assert recovery_superseded(app)
    recovery._generation_id = app.consumer_generation_id
    assert not recovery_superseded(app)
    recovery.signal_recovery_start.set()
    assert recovery_superseded(app)


def test_faust_still_runs_the_table_callbacks_before_its_generation_check() -> None:
    """Why ``recovery_superseded`` exists: ``on_recovery_completed`` calls each table's
    ``on_recovery_completed`` (the worker's ``on_recover`` hook) before it compares
    generations. When an upgrade moves the check first, the worker's check is redundant."""
    completed = faust.tables.recovery.Recovery.on_recovery_completed
    source = inspect.getsource(getattr(completed, "slamon_original", completed))  # Faust's
    assert source.index("table.on_recovery_completed(") < source.index("consumer_generation_id")


@pytest.mark.asyncio
async def test_a_seek_of_a_partition_without_an_offset_restarts_the_recovery(
    tmp_path: Path,
) -> None:
    """``Recovery._seek_offsets`` with a None offset (a partition that ``on_rebalance``
    added after the offsets were built): unpatched, the None reaches the consumer's seek
    (aiokafka raises ValueError there, which crashed the worker); patched, it raises
    ``RebalanceAgain``, which Faust's recovery loop takes as "start the next recovery",
    and seeks nothing. With every offset known, the patched seek is Faust's own."""
    sought: list[dict[TP, int]] = []

    class Consumer:
        async def seek_wait(self, offsets: dict[TP, int]) -> None:
            sought.append(dict(offsets))

    app = _app(tmp_path)
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    known = {TP("t-changelog", 0): 41, TP("t-changelog", 1): -1}
    offsets: Any = defaultdict(lambda: None, known)
    tps = {*known, TP("t-changelog", 2)}
    # Faust's own, also when building a worker app elsewhere in this process patched it
    unpatched = getattr(Recovery._seek_offsets, "slamon_original", Recovery._seek_offsets)
    await unpatched(recovery, cast(Any, Consumer()), tps, offsets, "standby")
    assert sought.pop()[TP("t-changelog", 2)] is None  # what aiokafka's seek refuses
    superseded_seeks_restart_the_recovery()
    superseded_seeks_restart_the_recovery()  # twice: patched once
    assert getattr(Recovery._seek_offsets, "slamon_patched", False)
    with pytest.raises(RebalanceAgain):
        await recovery._seek_offsets(Consumer(), tps, offsets, "standby")
    assert sought == []
    await recovery._seek_offsets(Consumer(), set(known), offsets, "active")
    assert sought == [{TP("t-changelog", 0): 41, TP("t-changelog", 1): 0}]


def test_faust_still_empties_the_changelog_queue_when_a_completed_recovery_resumes(
    tmp_path: Path,
) -> None:
    """Why ``completed_recoveries_keep_changelog_records`` exists: the changelog queue is
    one that flow control clears on every resume, and ``on_recovery_completed`` resumes
    flow control after the standby partitions are being read. When an upgrade changes
    either, the patch is no longer needed."""
    app = _app(tmp_path)
    queue = app.tables.changelog_queue  # type: ignore[attr-defined]
    queue.put_nowait("a standby record")
    app.flow_control.resume()
    assert queue.empty()
    completed = Recovery.on_recovery_completed
    source = inspect.getsource(getattr(completed, "slamon_original", completed))
    assert "self.app.flow_control.resume()" in source


def test_inside_resume_keeping_a_resume_clears_every_managed_queue_but_that_one(
    tmp_path: Path,
) -> None:
    """Inside: ``resume`` empties the other queues and keeps the one named (logging how
    many records it kept); an explicit ``clear`` (a rebalance's) still empties it.
    After: Faust's own ``resume`` again, which empties it."""
    app = _app(tmp_path)
    flow = app.flow_control
    changelog = app.tables.changelog_queue  # type: ignore[attr-defined]
    stream: Any = app.FlowControlQueue(maxsize=8, clear_on_resume=True)
    with structlog.testing.capture_logs() as logs, resume_keeping(flow, changelog):
        changelog.put_nowait("standby record")
        stream.put_nowait("stream event")
        flow.resume()
        assert (changelog.qsize(), stream.qsize()) == (1, 0)
        assert flow.is_active()
        flow.clear()
        assert changelog.empty()
    changelog.put_nowait("standby record")
    flow.resume()
    assert changelog.empty()
    assert logs == [
        {"records": 1, "event": "changelog records kept past the end of a recovery",
         "log_level": "info"},
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_a_completed_recovery_resumes_without_emptying_the_changelog_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patched (once, however often asked), ``on_recovery_completed`` is Faust's own,
    given the same generation, with its resume keeping the changelog records; the
    resume after it is Faust's again."""
    generations: list[int] = []

    async def completed(self: Recovery, generation_id: int = 0) -> None:
        generations.append(generation_id)
        self.app.flow_control.resume()  # what Faust's does once the callbacks have run

    monkeypatch.setattr(Recovery, "on_recovery_completed", completed)
    completed_recoveries_keep_changelog_records()
    completed_recoveries_keep_changelog_records()
    assert getattr(Recovery.on_recovery_completed, "slamon_original", None) is completed
    app = _app(tmp_path)
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    changelog = app.tables.changelog_queue  # type: ignore[attr-defined]
    changelog.put_nowait("standby record")
    await recovery.on_recovery_completed(7)
    assert (generations, changelog.qsize()) == ([7], 1)
    app.flow_control.resume()
    assert changelog.empty()


def test_aiokafka_still_reads_an_empty_partition_set_as_every_partition() -> None:
    """Why ``paused_partitions_are_never_fetched`` exists: ``Fetcher.fetched_records``
    filters by the partitions it is given only when that set is not empty."""
    source = inspect.getsource(Fetcher.fetched_records)
    assert "if partitions and tp not in partitions:" in source


@pytest.mark.asyncio
async def test_a_fetch_gets_a_copy_of_the_active_partitions_and_none_when_none_is_active(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Patched (once), Faust's ``_fetch_records`` returns nothing without asking aiokafka
    when no partition is active, and otherwise hands it a copy of the set, which Faust's
    pauses then cannot change under it."""
    asked: list[set[TP]] = []

    class FakeFetcher:
        _closed = False
        _subscriptions = SimpleNamespace(fetch_context=contextlib.nullcontext)

        async def fetched_records(self, partitions: set[TP], **_: Any) -> dict[TP, list[int]]:
            asked.append(partitions)
            return {tp: [1] for tp in partitions}

    aiokafka_consumer = SimpleNamespace(_closed=False, _fetcher=FakeFetcher())
    thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
    fetch = AIOKafkaConsumerThread._fetch_records
    monkeypatch.setattr(
        AIOKafkaConsumerThread, "_fetch_records", getattr(fetch, "slamon_original", fetch)
    )
    paused_partitions_are_never_fetched()
    paused_partitions_are_never_fetched()
    patched = AIOKafkaConsumerThread._fetch_records
    assert getattr(patched, "slamon_original", None) is getattr(fetch, "slamon_original", fetch)
    active: set[TP] = set()
    assert await patched(cast(Any, thread), aiokafka_consumer, active, timeout=0.1) == {}
    assert asked == []
    active.add(TP("t-changelog", 3))
    got = await patched(cast(Any, thread), aiokafka_consumer, active, timeout=0.1)
    assert got == {TP("t-changelog", 3): [1]}
    assert asked == [active]
    assert asked[0] is not active
