"""Every use of Faust's private API (and aiokafka's, under Faust), one small function each.

The plain-aiokafka one (a metadata refresh) is ``slamon.adapters.kafka.refresh_metadata``.

Each is here because no public API does the job (see the comment on each), and
tests/adapters/test_private_api.py fails loudly if an upgrade moves one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, cast

import faust
import faust.transport.consumer
import structlog
from aiokafka import AIOKafkaProducer
from faust.streams import _current_event, current_event
from faust.tables.recovery import RebalanceAgain, Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

log = structlog.get_logger("slamon.worker")
REVOKE_COMMIT_S = 5.0


def set_current_event(event: faust.EventT[Any]) -> None:
    """Make ``event`` the one Faust's table stores see as "being processed".

    ``take_events`` hands the agent a list of events without setting it for each
    one, and a table write reads the partition of the current event from it.
    """
    _current_event.set(weakref.ref(event))


def current_partition() -> int | None:
    """The partition of the event being processed, None outside an agent."""
    event = current_event()
    return None if event is None else int(event.message.partition)


def aiokafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The aiokafka producer under Faust's: the one Faust flushes before committing.

    Batches go through ``create_batch``/``send_batch``, which Faust does not expose.
    """
    return cast(AIOKafkaProducer, app.producer._ensure_producer())  # type: ignore[attr-defined]


def set_persisted_offset(
    table: faust.Table[Any, Any], topic: str, partition: int, offset: int
) -> None:
    """What Faust's own changelog callback does; a rocksdb store resumes recovery here.

    The worker writes changelog records itself (batched), so Faust never sees them.
    """
    table.data.set_persisted_offset(TP(topic, partition), offset)


class RocksdbPartitions:
    """A rocksdb table store's partition databases, written outside an agent (the catch-up,
    before Faust starts): Faust's store writes the partition of the current event only, and
    clears nothing but the whole table directory."""

    def __init__(self, table: faust.Table[Any, Any]) -> None:
        self.table = table

    def clear(self, partitions: range) -> None:
        """Remove these partitions' databases (before Faust starts: it has none open)."""
        store: Any = self.table.data
        for partition in partitions:
            db = store._dbs.pop(partition, None)
            if db is not None:
                db.close()
            shutil.rmtree(store.partition_path(partition), ignore_errors=True)
        store._key_index.clear()

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        store: Any = self.table.data
        store._db_for_partition(partition).put(key, value)

    def delete(self, partition: int, key: bytes) -> None:
        store: Any = self.table.data
        store._db_for_partition(partition).delete(key)

    def set_offset(self, topic: str, partition: int, offset: int) -> None:
        """The changelog offset the store holds everything up to (Faust's recovery resumes
        after it)."""
        set_persisted_offset(self.table, topic, partition, offset)


def open_rocksdbs(table: faust.Table[Any, Any]) -> list[Any]:
    """The rocksdb databases a table's store has open (one per partition); none for
    ``memory://``. Faust keeps them in the store's private ``_dbs``."""
    return list(getattr(table.data, "_dbs", {}).values())


def without_builtin_pages(app: faust.App) -> None:
    """Serve none of Faust's own pages (tables, router, graph, stats, index).

    The ``web_*_enabled`` settings turn off all but the production index at ``/``;
    this drops that one too, so the worker serves only the pages it declares.
    """
    app.web.blueprints._enabled.clear()


def worker_with_bounded_stop(
    app: faust.App, grace_s: float, on_overrun: Callable[[], None], **options: Any
) -> faust.Worker:
    """A Faust worker whose stop on SIGTERM/SIGINT is bounded by ``grace_s``.

    With the broker unreachable, Faust's stop waits a minute for the consumer and then
    prints raw tracebacks; past the grace ``on_overrun`` runs (it exits the process:
    inputs not yet acknowledged are read again after the restart). mode starts its
    stop from ``_schedule_shutdown``, the one hook that sees the signal arrive.
    """

    class BoundedStopWorker(faust.Worker):
        def _schedule_shutdown(self, signal: Any) -> None:
            timer = threading.Timer(grace_s, on_overrun)
            timer.daemon = True
            timer.start()
            super()._schedule_shutdown(signal)

    worker = BoundedStopWorker(app, **options)
    worker.spinner = None  # a terminal spinner writes escape codes into the JSON log
    return worker


def recovery_position(app: faust.App) -> tuple[bool, tuple[tuple[TP, int], ...]]:
    """Where Faust's table recovery stands: in progress or not, changelog offsets read.

    The recovery's public face is only "done or not" (``wait_until_recovery_completed``);
    the watchdog needs to see whether it still moves.
    """
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return bool(recovery.in_recovery), tuple(sorted(recovery.active_offsets.items()))


def recovery_superseded(app: faust.App) -> bool:
    """A later rebalance has superseded the table recovery now completing.

    Faust's ``Recovery.on_recovery_completed`` runs the tables' ``on_recover`` callbacks
    before it compares the recovery's generation with the consumer's (for a stale one it
    then returns without resuming the streams), so a callback can be handed a recovery
    that a rebalance cut short, with part of the changelog read. Superseded: the
    consumer has joined a newer generation, or the next recovery is already signalled
    (Faust starts it as soon as this one returns).
    """
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    newer = recovery._generation_id != app.consumer_generation_id
    return newer or bool(recovery.signal_recovery_start.is_set())


def superseded_seeks_restart_the_recovery() -> None:
    """A recovery's seek of a partition with no offset read starts the next recovery.

    ``Recovery._build_offsets`` gives every partition an offset before the seeks, so a
    partition without one (None) was added by ``Recovery.on_rebalance`` meanwhile: a later
    rebalance has superseded this recovery. Faust hands that None to aiokafka's ``seek``,
    whose ValueError ("Offset must be a positive integer") crashed the recovery and the
    worker (2 of 12 trials of a worker recovering while a second one joined and left).
    Raised as Faust's own ``RebalanceAgain`` instead, the recovery loop goes on to the
    next one at once, as it does when it notices the rebalance itself. (Runs that sought
    such a partition from offset 0 instead lost a changelog record in 2 of 5 trials,
    likely to the resume ``completed_recoveries_keep_changelog_records`` mends.) Idempotent.
    """

    def wrap(seek: Any) -> Any:
        async def _seek_offsets(
            self: Recovery, consumer: Any, tps: Any, offsets: Counter[TP], title: str
        ) -> None:
            if any(offsets.get(tp) is None for tp in tps):
                log.info("recovery superseded by a rebalance before its seek; the next one starts")
                raise RebalanceAgain()
            await seek(self, consumer, tps, offsets, title)

        return _seek_offsets

    _patch_once(Recovery, "_seek_offsets", wrap)


def _patch_once(owner: type, name: str, wrap: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` with ``wrap(original)``, unless that was done already.

    The replacement keeps the original as ``slamon_original`` (the tests call Faust's own).
    """
    original = getattr(owner, name)
    if getattr(original, "slamon_patched", False):
        return
    patched = wrap(original)
    patched.slamon_patched = True
    patched.slamon_original = original
    setattr(owner, name, patched)


def completed_recoveries_keep_changelog_records() -> None:
    """The resume that ends a completed recovery no longer empties the changelog queue.

    ``Recovery.on_recovery_completed`` resumes Faust's flow control, and that clears
    every queue it manages (``clear_on_resume``), the changelog queue among them. By then
    the standby partitions are being read, so the standby records fetched but not yet
    applied were dropped; the records after them were applied, and since recovery skips
    any record at or below the last offset it applied, the dropped ones were never read
    again: a standby copy, and the table after a takeover, lacked them for good (one
    record in 2 of 11 trials of a worker recovering while a second one joined and left).
    What that queue holds then was read after this recovery's seeks, in order, so it is
    kept. Every other clear (a rebalance's, at stop, the other resumes) is Faust's. Idempotent.
    """

    def wrap(completed: Any) -> Any:
        async def on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
            with resume_keeping(self.app.flow_control, self.tables.changelog_queue):
                await completed(self, generation_id)

        return on_recovery_completed

    _patch_once(Recovery, "on_recovery_completed", wrap)


@contextlib.contextmanager
def resume_keeping(flow: Any, queue: Any) -> Iterator[None]:
    """While inside, ``flow.resume()`` clears every managed queue but ``queue``."""

    def resume() -> None:
        kept = queue.qsize()
        flow._queues.discard(queue)  # a WeakSet of the queues resume() clears
        try:
            type(flow).resume(flow)
        finally:
            flow.manage_queue(queue)
        if kept:
            log.info("changelog records kept past the end of a recovery", records=kept)

    flow.resume = resume
    try:
        yield
    finally:
        del flow.resume


def paused_partitions_are_never_fetched() -> None:
    """Faust's fetch hands aiokafka a copy of its active partitions, never an empty set.

    aiokafka's ``Fetcher.fetched_records`` reads an empty set as "every partition": a
    fetch that returned after the last active partition was paused (between an active
    recovery's end and the resume of the standby partitions) got the paused ones' records,
    which Faust dropped (34,265 in 4 of 10 race trials; no ticket lost there, the rest not
    traced). With a copy of the set, nothing is fetched that is not read. Idempotent.
    """

    def wrap(fetch: Any) -> Any:
        async def _fetch_records(
            self: AIOKafkaConsumerThread, consumer: Any, active_partitions: Any,
            timeout: float | None = None, max_records: int | None = None,
        ) -> Any:  # fmt: skip
            partitions = set(active_partitions)  # a copy: Faust mutates its own meanwhile
            if not partitions:
                return {}
            return await fetch(self, consumer, partitions, timeout=timeout, max_records=max_records)

        return _fetch_records

    _patch_once(AIOKafkaConsumerThread, "_fetch_records", wrap)


def gap_fills_count_each_offset_once() -> None:
    """Faust's commit arithmetic folds each offset gap into the acknowledged offsets once.

    ``Consumer._new_offset`` adds every offset of a recorded gap to the acknowledged list
    without checking which of them were acknowledged already. When the records of a gap
    come after all (``worker/inputs.py`` reads a skipped range again), the sorted list
    holds each twice, its first run of consecutive offsets ends at the first pair, and
    each commit (every 2.8 s) moved one offset: after a 46-offset gap read again, a
    joining worker's commit stayed minutes behind its work (the catch-up join test's
    flaky timeouts; overlapping gaps Faust recorded did the same). The gap is folded
    here first, as a set; Faust then finds nothing left to fold. Idempotent.
    """

    def wrap(new_offset: Any) -> Any:
        def _new_offset(self: Any, tp: TP) -> int | None:
            acked, gap = self._acked[tp], self._gap[tp]
            if acked and gap and gap.overlap(0, max(acked)):
                offsets = set(acked)
                while candidates := gap.overlap(0, max(offsets)):
                    for interval in candidates:
                        offsets.update(range(interval.begin, interval.end))
                        gap.remove(interval)
                acked[:] = sorted(offsets)  # the removed intervals now live here only
            result: int | None = new_offset(self, tp)
            return result

        return _new_offset

    _patch_once(faust.transport.consumer.Consumer, "_new_offset", wrap)


def revoked_partitions_commit_first() -> None:
    """A rebalance first commits what the revoked partitions acknowledged.

    Faust's ``Consumer.on_partitions_revoked`` forgets the acknowledged offsets of the
    revoked partitions, then runs the app's handler, whose commit then finds nothing of
    theirs: each rebalance read again all handled since the last periodic commit (up to
    2.8 s of input), its dead letters and outcomes written twice (14 of 191 dead letters
    once, in the catch-up join test). The commit now comes first; records still being
    handled are acknowledged too late for it and read again, as before. Idempotent.
    """

    def wrap(revoke: Any) -> Any:
        async def on_partitions_revoked(self: Any, revoked: set[TP]) -> None:
            if not self.app.should_stop and any(tp in self._acked for tp in revoked):
                try:  # bounded: a broker that does not answer must not hold the rebalance
                    await asyncio.wait_for(self.commit(set(revoked)), REVOKE_COMMIT_S)
                except Exception as exc:  # read again, as without this commit
                    log.warning("commit before a revocation failed", error=repr(exc))
            await revoke(self, revoked)

        return on_partitions_revoked

    _patch_once(faust.transport.consumer.Consumer, "on_partitions_revoked", wrap)


class FaustInputs:
    """A topic's partitions (events or assets) as ``worker/inputs.py`` sees them via Faust.

    ``seek`` is Faust's own (it also resets the offset Faust reads from, so the records
    come again); the committed offset is Faust's private record of it (next offset to
    read), which ``perform_seek`` fills after each rebalance. ``held`` gives, per
    partition, the offset its commit must not pass while a gap is read again.
    """

    def __init__(
        self, app: faust.App, topic: str, held: Callable[[int], int | None] = lambda _: None
    ) -> None:
        self.app, self.topic, self.held = app, topic, held
        self._holding = False

    def committed(self, partition: int) -> int | None:
        offset = self.app.consumer._committed_offset.get(TP(self.topic, partition))  # type: ignore[attr-defined]
        return offset if isinstance(offset, int) and offset > 0 else None

    async def seek(self, partition: int, offset: int) -> None:
        self._hold_commits()  # before the first re-read, so before a commit could pass it
        await self.app.consumer.seek(TP(self.topic, partition), offset)

    def _hold_commits(self) -> None:
        """Cap the offsets Faust commits at ``held``.

        Faust adds an offset gap to the acknowledged offsets (its gap fill, meant for
        transaction markers), so its commit would pass records the worker is still
        reading again. ``_filter_committable_offsets`` is where Faust picks the offsets
        of each commit; there is no public hook.
        """
        if self._holding:
            return
        consumer = self.app.consumer
        committable = consumer._filter_committable_offsets  # type: ignore[attr-defined]

        def held_back(tps: Any) -> dict[TP, int]:
            offsets: dict[TP, int] = committable(tps)
            for tp, offset in list(offsets.items()):
                limit = self.held(tp.partition) if tp.topic == self.topic else None
                if limit is None or offset <= limit:
                    continue
                committed = consumer._committed_offset[tp]  # type: ignore[attr-defined]
                if committed is None or limit > committed:
                    offsets[tp] = limit
                else:
                    del offsets[tp]
            return offsets

        consumer._filter_committable_offsets = held_back  # type: ignore[attr-defined]
        self._holding = True

    def highwater(self, partition: int) -> int | None:
        try:
            return int(self.app.consumer.highwater(TP(self.topic, partition)))
        except Exception:  # not assigned or not fetched yet: unknown
            return None


async def broker_answers(app: faust.App, timeout_s: float) -> bool:
    """Whether the cluster answers a metadata request within ``timeout_s``.

    Through the producer's aiokafka client (``client.force_metadata_update``, True once
    fresh metadata arrived): a hung or unreachable broker says False even when no
    output is pending, so health shows it before an alert is late.
    """
    try:
        client = aiokafka_producer(app).client
        return bool(await asyncio.wait_for(client.force_metadata_update(), timeout_s))
    except Exception:  # not started, connection refused, timed out: not answering
        return False
