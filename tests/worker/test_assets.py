"""The repartition by asset (worker/assets.py) wired by the composition root to fakes.

The ticket agent's side sends a record per change of a ticket with an asset to a list
sink; the test hands those records to the asset agent's side in the order a partition of
the assets topic could deliver them. Policy: ``small_policy`` with a 1h repeat window;
retention 1h (``SETTINGS``); instants are minutes after 2026-11-23T08:00Z.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
import structlog.testing
from prometheus_client import CollectorRegistry, generate_latest

from slamon.adapters.outbox import partition_for
from slamon.bootstrap import Outputs, build_service
from slamon.replay import replay
from slamon.testing import EventLog, ListSink, ManualClock, Record, at, small_policy
from slamon.testing import instant as ns
from slamon.worker.assets import AssetService
from tests.quality_figures import figures, state_counts
from tests.worker.test_inputs import FakeConsumer
from tests.worker.test_service import SETTINGS, event_record

POLICY = small_policy(quality={"repeat_window": "1h"})
HOUR = 3600 * 10**9


class Harness:
    def __init__(self, now: int, asset_table: dict[bytes, bytes] | None = None) -> None:
        self.clock = ManualClock(now)
        self.assets_out = ListSink()
        self.asset_table: dict[bytes, bytes] = {} if asset_table is None else asset_table
        outputs = Outputs(ListSink(), ListSink(), ListSink(), ListSink(), assets=self.assets_out)
        self.registry = CollectorRegistry(auto_describe=True)
        built = build_service(POLICY, SETTINGS, outputs=outputs, table={}, clock=self.clock,
                              registry=self.registry, asset_table=self.asset_table)  # fmt: skip
        assert built.assets is not None
        self.service, self.assets = built.service, built.assets

    async def feed(self, log: EventLog) -> list[Record]:
        """The log through the ticket agent, one flush per event (so the order of changes
        can be shuffled below); each change it sent as a record keyed by its asset."""
        start = len(self.assets_out.sent)
        for offset, line in enumerate(log.lines()):
            await self.service.handle(event_record(orjson.loads(line), offset=offset))
            await self.service.flush()
        changes = [change for sent in self.assets_out.sent[start:]
                   for change in orjson.loads(sent.value or b"")["changes"]]  # fmt: skip
        return [Record("slamon-assets", 0, i, asset.encode(), orjson.dumps(change))
                for i, (asset, change) in enumerate(changes)]  # fmt: skip

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def asset_counts(h: Harness) -> tuple[float, float]:
    counts = state_counts(h.text())
    return counts.get("resolved_with_asset", 0.0), counts.get("repeat_failure", 0.0)


async def deliver(assets: AssetService, records: list[Record]) -> None:
    for record in records:
        await assets.handle(record)


def asset_log() -> EventLog:
    """Asset X: A resolved at 10m, B created at 40m (A repeats), B resolved at 50m and
    reopened, resolved again at 80m; C created at 100m (B repeats, r = 80m); D created and
    cancelled (no part). Asset Y: E resolved at 10m, F created at 71m (outside 10m + 1h),
    F resolved at 90m. G: no asset. A late resolve of F at 75m (before the one at 90m: F's
    r is 75m) and a late creation of H (Y) at 120m, so F repeats too."""
    log = EventLog()
    log.created("A", at(0), asset_id="X", region="north")
    log.add("ticket.resolved", "A", at(10))
    log.created("B", at(40), asset_id="X", priority="P1")
    log.add("ticket.resolved", "B", at(50))
    log.add("ticket.reopened", "B", at(60))
    log.add("ticket.resolved", "B", at(80))
    log.created("C", at(100), asset_id="X")
    log.created("D", at(20), asset_id="X")
    log.add("ticket.cancelled", "D", at(25))
    log.created("E", at(0), asset_id="Y")
    log.add("ticket.resolved", "E", at(10))
    log.created("F", at(71), asset_id="Y")
    log.add("ticket.resolved", "F", at(90))
    log.created("G", at(0))
    log.add("ticket.resolved", "G", at(5))
    log.add("ticket.resolved", "F", at(75))
    log.created("H", at(120), asset_id="Y")
    return log


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", range(8))
async def test_the_live_rate_is_replays_whatever_the_order_across_partitions(seed: int) -> None:
    """Records of different assets interleave in any order (partitions of the assets topic
    are read independently); each asset's records keep their order. Resolved with an asset:
    A, B, E, F; repeats: A (B at 40m), B (C at 100m), F (H at 120m): 3 of 4, as replay."""
    h = Harness(ns(600))
    log = asset_log()
    records = await h.feed(log)
    assert {r.key for r in records} == {b"X", b"Y"}  # G has no asset: no record
    by_asset = {key: [r for r in records if r.key == key] for key in (b"X", b"Y")}
    rng, order = random.Random(seed), [b"X"] * len(by_asset[b"X"]) + [b"Y"] * len(by_asset[b"Y"])
    rng.shuffle(order)
    await deliver(h.assets, [by_asset[key].pop(0) for key in order])
    expected = replay(log.lines(), POLICY).quality["repeat_failure_rate"]
    assert expected == 3 / 4
    assert figures(h.text())["repeat_failure_rate"] == expected
    counts = state_counts(h.text())
    assert (counts["resolved_with_asset"], counts["repeat_failure"]) == (4, 3)


@pytest.mark.asyncio
async def test_records_out_of_order_within_an_asset_give_the_same_rate() -> None:
    """Even reversed (a ticket's older record after its newer one is ignored), the state
    per asset and so the flags come out the same."""
    h = Harness(ns(600))
    log = asset_log()
    records = await h.feed(log)
    await deliver(h.assets, records[::-1])
    assert figures(h.text())["repeat_failure_rate"] == 3 / 4


@pytest.mark.asyncio
async def test_counts_carry_the_tickets_labels_and_no_asset() -> None:
    """resolved_with_asset / repeat_failure under the resolved ticket's priority, service
    and region; B's reopen and second resolve move nothing twice; no asset id anywhere."""
    h = Harness(ns(600))
    await deliver(h.assets, await h.feed(asset_log()))
    text = h.text()
    for value in ('"X"', '"Y"', "asset_id"):
        assert value not in text
    get = h.registry.get_sample_value
    north = {"priority": "P2", "service": "remote", "region": "north"}
    assert get("slamon_quality_tickets_entered_total", {"state": "repeat_failure", **north}) == 1
    assert get("slamon_quality_tickets_left_total", {"state": "repeat_failure", **north}) == 0
    p1 = {"priority": "P1", "service": "remote", "region": "none"}
    # B: a repeat (C) once resolved at 80m; at 50m (before its reopen) it was not yet one
    assert get("slamon_quality_tickets_entered_total", {"state": "repeat_failure", **p1}) == 1


@pytest.mark.asyncio
async def test_a_restart_goes_on_from_the_table_and_counts_each_move_once() -> None:
    """A second asset agent on the same (recovered) table counts only what happens next:
    both processes' counters summed give replay's figure."""
    first = Harness(ns(600))
    log = asset_log()
    records = await first.feed(log)
    half = len(records) // 2
    await deliver(first.assets, records[:half])
    second = Harness(ns(600), asset_table=first.asset_table)
    await deliver(second.assets, records[half:])
    expected = replay(log.lines(), POLICY).quality["repeat_failure_rate"]
    assert figures(first.text(), second.text())["repeat_failure_rate"] == expected


@pytest.mark.asyncio
async def test_entries_expire_after_retention_and_window_and_keep_counting() -> None:
    """A resolved at 10m, B created at 40m: A repeats. Past the retention (1h, + grace) and
    A's window, the next record of the asset drops A, which keeps counting; B, cancelled
    then, goes with the asset's next record a retention later."""
    h = Harness(ns(60))
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.resolved", "A", at(10))
    log.created("B", at(40), asset_id="X")
    await deliver(h.assets, await h.feed(log))
    assert state_counts(h.text())["repeat_failure"] == 1
    h.clock.now = ns(60) + 2 * HOUR
    later = EventLog()
    later.add("ticket.cancelled", "B", at(45))
    await deliver(h.assets, await h.feed(later))
    assert list(orjson.loads(h.asset_table[b"X"])["t"]) == ["B"]
    assert asset_counts(h) == (1, 1)
    h.clock.now += 2 * HOUR
    last = EventLog()
    last.created("C", at(300), asset_id="X")
    await deliver(h.assets, await h.feed(last))
    assert list(orjson.loads(h.asset_table[b"X"])["t"]) == ["C"]
    assert asset_counts(h) == (1, 1)


@pytest.mark.asyncio
async def test_only_changes_that_matter_to_the_rule_or_the_labels_are_sent() -> None:
    """A response or a survey changes nothing the asset agent reads: no record."""
    h = Harness(ns(60))
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.responded", "A", at(1))
    log.add("survey.submitted", "A", at(2), {"score": 9})
    log.add("ticket.resolved", "A", at(3))
    assert len(await h.feed(log)) == 2


@pytest.mark.asyncio
async def test_a_sweep_drops_what_is_due_without_a_later_record_of_the_asset() -> None:
    """No record for X after A's retention and window: the sweep sends one (to X's
    partition), the agent drops A, X goes from the table; a new process rebuilds what is
    due from the recovered table, for its partitions only."""
    h = Harness(ns(60))
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.resolved", "A", at(10))
    records = [Record("slamon-assets", 3, i, r.key, r.value) for i, r in
               enumerate(await h.feed(log))]  # fmt: skip
    await deliver(h.assets, records)
    assert await h.assets.sweep() == 0  # nothing due yet
    rebuilt = Harness(ns(60), asset_table=h.asset_table)
    await rebuilt.assets.on_recovered({0, 1})
    assert rebuilt.assets.due == {}  # X is on partition 3
    await rebuilt.assets.on_recovered({3})
    assert rebuilt.assets.due == h.assets.due
    h.clock.now = ns(60) + 2 * HOUR
    sent = len(h.assets_out.sent)
    assert await h.assets.sweep() == 1
    [sweep] = h.assets_out.sent[sent:]
    assert (sweep.key, sweep.partition) == (b"X", 3)
    await h.assets.handle(Record("slamon-assets", 3, 9, sweep.key, sweep.value))
    assert h.asset_table == {}
    assert h.assets.due == {}
    assert asset_counts(h) == (1, 0)  # A keeps counting


@pytest.mark.asyncio
async def test_a_recovery_that_undoes_an_unsettled_write_keeps_the_latest_state() -> None:
    """A's resolve was applied (A counted) but its changelog record not delivered when a
    rebalance came; the recovery brings back the value from before it. The agent reads the
    latest value instead (no second count) and writes it again through a sweep record."""
    h = Harness(ns(60))
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    created = await h.feed(log)
    await deliver(h.assets, created)
    await h.assets.flush()  # delivered: settled
    before = h.asset_table[b"X"]
    resolve = EventLog()
    resolve.add("ticket.resolved", "A", at(10), id="r-A")
    await deliver(h.assets, await h.feed(resolve))  # not flushed: unsettled
    assert asset_counts(h) == (1, 0)
    h.assets.on_revoked({0})
    h.asset_table[b"X"] = before  # what the changelog replay brings back
    sent = len(h.assets_out.sent)
    await h.assets.on_recovered({0})
    [sweep] = h.assets_out.sent[sent:]
    assert (sweep.key, sweep.value, sweep.partition) == (b"X", b"sweep", 0)
    again = EventLog()
    again.add("ticket.created", "B", at(20), {"priority": "P2", "asset_id": "X"}, id="c-B")
    await deliver(h.assets, await h.feed(again))  # before the sweep: reads the latest state
    assert asset_counts(h) == (1, 1)  # A counted once, and a repeat (B)
    assert list(orjson.loads(h.asset_table[b"X"])["t"]) == ["A", "B"]


def _pair(record: Record) -> list[Any]:
    """A single-change record as the [asset id, change] pair a batch carries."""
    return [(record.key or b"").decode(), orjson.loads(record.value or b"")]


@pytest.mark.asyncio
async def test_a_chunks_changes_go_out_as_one_record_per_assets_partition_in_order() -> None:
    """Nothing is sent before the flush; then one record per partition of the assets topic
    (Kafka's partitioner of the asset id, as a keyed record would go), its changes in the
    order they happened; handled, they give the same figures as one record per change."""
    h = Harness(ns(600))
    log = asset_log()
    for offset, line in enumerate(log.lines()):
        await h.service.handle(event_record(orjson.loads(line), offset=offset))
    assert h.assets_out.sent == []
    await h.service.flush()
    partitions = list(range(SETTINGS.partitions))
    by_partition = {sent.partition: orjson.loads(sent.value or b"")["changes"]
                    for sent in h.assets_out.sent}  # fmt: skip
    assert len(by_partition) == len(h.assets_out.sent)
    for partition, changes in by_partition.items():
        assert {partition_for(asset.encode(), partitions, 0) for asset, _ in changes} == {partition}
    in_order = [_pair(r) for r in await Harness(ns(600)).feed(log)]
    assert {asset for asset, _ in in_order} == {"X", "Y"}
    for partition, changes in by_partition.items():
        assert changes == [
            [asset, change] for asset, change in in_order
            if partition_for(asset.encode(), partitions, 0) == partition
        ]  # fmt: skip
    assert sum(len(changes) for changes in by_partition.values()) == len(in_order)
    batches = [Record("slamon-assets", sent.partition or 0, i, sent.key, sent.value)
               for i, sent in enumerate(h.assets_out.sent)]  # fmt: skip
    await deliver(h.assets, batches)
    assert figures(h.text())["repeat_failure_rate"] == 3 / 4


@pytest.mark.asyncio
async def test_a_bad_change_in_a_batch_does_not_stop_the_others() -> None:
    """A change that cannot be read is logged with its index; the next ones are applied."""
    h = Harness(ns(600))
    good = await h.feed(asset_log())
    changes = [_pair(r) for r in good]
    value = orjson.dumps({"changes": [["X", "not a change"], *changes]})
    with structlog.testing.capture_logs() as logs:
        await h.assets.handle(Record("slamon-assets", 0, 0, None, value))
    assert figures(h.text())["repeat_failure_rate"] == 3 / 4
    failed = [e for e in logs if e["event"] == "asset change failed"]
    assert [e["index"] for e in failed] == [0]


@pytest.mark.asyncio
async def test_asset_records_the_consumer_skipped_are_read_again() -> None:
    """The consumer drops records 6 and 7 of the assets topic (seen at a recovery, the
    commit stuck before them): lost, the rate is wrong (1/2); with the consumer's offsets
    checked, the agent seeks back to 6, skips what came in their place, and once the
    re-read brings them the counts are replay's (4 resolved with an asset, 3 repeats)."""
    lossy = Harness(ns(600))
    records = await lossy.feed(asset_log())
    await deliver(lossy.assets, records[:6] + records[8:])
    assert figures(lossy.text())["repeat_failure_rate"] == 1 / 2

    h = Harness(ns(600))
    records = await h.feed(asset_log())
    consumer = FakeConsumer({0: 0})
    h.assets.inputs.consumer = consumer
    with structlog.testing.capture_logs() as logs:
        await deliver(h.assets, records[:6] + records[8:])
    assert consumer.seeks == [(0, 6)]
    error = next(e for e in logs if e["log_level"] == "error")
    assert (error["stream"], error["partition"], error["missing"]) == ("assets", 0, "6..7")
    await deliver(h.assets, records[6:])  # the re-read
    assert figures(h.text())["repeat_failure_rate"] == 3 / 4
    counts = state_counts(h.text())
    assert (counts["resolved_with_asset"], counts["repeat_failure"]) == (4, 3)
    assert 'slamon_input_gaps_total{outcome="reread"} 1.0' in h.text()
