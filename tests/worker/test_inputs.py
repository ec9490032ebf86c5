"""Input records the consumer skipped are read again; real gaps are accepted, once."""

from __future__ import annotations

import pytest
import structlog.testing

from slamon.worker.inputs import MAX_ATTEMPTS, STUCK_NS, TAIL_ATTEMPTS, InputPositions


class FakeConsumer:
    """Committed offsets by partition, and the seeks asked for."""

    def __init__(self, committed: dict[int, int] | None = None) -> None:
        self.committed_offsets = committed or {}
        self.highwaters: dict[int, int] = {}
        self.seeks: list[tuple[int, int]] = []

    def highwater(self, partition: int) -> int | None:
        return self.highwaters.get(partition)

    def committed(self, partition: int) -> int | None:
        return self.committed_offsets.get(partition)

    async def seek(self, partition: int, offset: int) -> None:
        self.seeks.append((partition, offset))


def _positions(committed: dict[int, int] | None = None
               ) -> tuple[InputPositions, FakeConsumer, list[str]]:  # fmt: skip
    counted: list[str] = []
    consumer = FakeConsumer(committed)
    return InputPositions(counted.append, consumer), consumer, counted


async def _feed(positions: InputPositions, offsets: list[int], partition: int = 0) -> list[int]:
    """The offsets handled, in order, of the offsets delivered."""
    return [o for o in offsets if await positions.admit(partition, o)]


@pytest.mark.asyncio
async def test_consecutive_offsets_and_re_reads_are_all_handled_with_no_seek() -> None:
    """10, 11, 12, then 11 and 12 again (a rebalance re-read): every one handled."""
    positions, consumer, counted = _positions({0: 10})
    assert await _feed(positions, [10, 11, 12, 11, 12, 13]) == [10, 11, 12, 11, 12, 13]
    assert consumer.seeks == []
    assert counted == []
    assert positions.expected == {0: 14}


@pytest.mark.asyncio
async def test_records_skipped_by_the_consumer_are_read_again_in_order() -> None:
    """Committed 10, then 14 comes: back to 10; 14..16 in flight are skipped; after the
    seek 10..16 come and are all handled, so 12 and 13 are not lost."""
    positions, consumer, counted = _positions({0: 10})
    with structlog.testing.capture_logs() as logs:
        handled = await _feed(positions, [14, 15, 16, 10, 11, 12, 13, 14, 15, 16, 17])
    assert handled == [10, 11, 12, 13, 14, 15, 16, 17]
    assert consumer.seeks == [(0, 10)]
    assert counted == ["reread"]
    error = next(e for e in logs if e["log_level"] == "error")
    assert (error["stream"], error["partition"], error["missing"]) == ("events", 0, "10..13")


@pytest.mark.asyncio
async def test_a_gap_within_a_generation_is_found_from_the_last_record() -> None:
    """11 handled, then 14: the consumer goes back to 12, not to the committed offset."""
    positions, consumer, _ = _positions({0: 10})
    assert await _feed(positions, [10, 11, 14, 12, 13, 14]) == [10, 11, 12, 13, 14]
    assert consumer.seeks == [(0, 12)]


@pytest.mark.asyncio
async def test_a_real_gap_comes_back_the_same_and_is_accepted_once() -> None:
    """Transaction markers at 12, 13: after the re-read 14 comes first again: accepted, and
    the partition goes on without another seek."""
    positions, consumer, counted = _positions({0: 12})
    with structlog.testing.capture_logs() as logs:
        handled = await _feed(positions, [14, 15, 14, 15, 16])
    assert handled == [14, 15, 16]
    assert consumer.seeks == [(0, 12)]
    assert counted == ["reread", "accepted"]
    assert any(e["log_level"] == "warning" and e["missing"] == "12..13" for e in logs)


@pytest.mark.asyncio
async def test_a_re_read_that_loses_the_gap_again_tries_again_up_to_the_limit() -> None:
    """Each restart of the read comes back past the gap at a new offset: seek again, until
    MAX_ATTEMPTS re-reads, then accept."""
    positions, consumer, counted = _positions({0: 10})
    # every attempt the read restarts one offset lower than the highest seen, never at 10
    offsets = [20]
    for attempt in range(MAX_ATTEMPTS):
        offsets += [19 - attempt]
    handled = await _feed(positions, offsets)
    assert handled == [19 - (MAX_ATTEMPTS - 1)]
    assert consumer.seeks == [(0, 10)] * MAX_ATTEMPTS
    assert counted == ["reread"] * MAX_ATTEMPTS + ["accepted"]


@pytest.mark.asyncio
async def test_partitions_are_independent_and_revocation_starts_again_from_committed() -> None:
    """A gap on partition 1 does not hold partition 0; after forget, committed counts."""
    positions, consumer, _ = _positions({0: 0, 1: 5})
    assert await positions.admit(1, 7) is False
    assert await positions.admit(0, 0) is True
    positions.forget({0, 1})
    consumer.committed_offsets = {0: 3, 1: 7}
    assert await _feed(positions, [3, 4], partition=0) == [3, 4]
    assert await _feed(positions, [7], partition=1) == [7]
    assert consumer.seeks == [(1, 5)]


@pytest.mark.asyncio
async def test_without_a_committed_offset_or_a_consumer_every_record_is_handled() -> None:
    """A new group (nothing committed) starts anywhere; with no consumer the check is off."""
    positions, consumer, _ = _positions()
    assert await _feed(positions, [40, 41]) == [40, 41]
    off = InputPositions(lambda _: None)
    assert await _feed(off, [1, 5, 9]) == [1, 5, 9]
    assert consumer.seeks == []


@pytest.mark.asyncio
async def test_records_dropped_at_the_end_of_a_partition_are_read_again() -> None:
    """0..5 handled, the broker has 7 (record 6 never came, nothing after it): once the
    partition has not moved for STUCK_NS, back to 6; then 6 comes and is handled."""
    positions, consumer, counted = _positions({0: 0})
    assert await _feed(positions, [0, 1, 2, 3, 4, 5]) == [0, 1, 2, 3, 4, 5]
    consumer.highwaters[0] = 7
    now = 1_000
    await positions.resume_stuck(now)  # first look: the count starts
    await positions.resume_stuck(now + STUCK_NS - 1)
    assert consumer.seeks == []
    await positions.resume_stuck(now + STUCK_NS)
    assert consumer.seeks == [(0, 6)]
    assert counted == ["reread"]
    assert await _feed(positions, [6]) == [6]
    await positions.resume_stuck(now + 3 * STUCK_NS)  # caught up: nothing more
    assert consumer.seeks == [(0, 6)]


@pytest.mark.asyncio
async def test_a_moving_or_caught_up_partition_is_never_read_again() -> None:
    """Records keep coming (a backlog) or none wait at the broker: no seek, however long."""
    positions, consumer, _ = _positions({0: 0, 1: 0})
    consumer.highwaters = {0: 1_000, 1: 3}
    now = 0
    for offset in range(30):  # partition 0 moves every tick; partition 1 is at its end
        await positions.admit(0, offset)
        if offset < 3:
            await positions.admit(1, offset)
        await positions.resume_stuck(now)
        now += STUCK_NS // 2
    assert consumer.seeks == []


@pytest.mark.asyncio
async def test_an_end_that_never_comes_is_accepted_after_the_tries_until_it_moves() -> None:
    """A transaction marker at the end: TAIL_ATTEMPTS - 1 re-reads, then accepted (no more
    seeks while nothing changes); a new record past it resumes the normal check."""
    positions, consumer, counted = _positions({0: 0})
    assert await _feed(positions, [0, 1]) == [0, 1]
    consumer.highwaters[0] = 3  # offset 2 is a marker: never delivered
    now = 0
    for _ in range(TAIL_ATTEMPTS + 3):
        await positions.resume_stuck(now)
        now += STUCK_NS
    assert consumer.seeks == [(0, 2)] * (TAIL_ATTEMPTS - 1)
    assert counted == ["reread"] * (TAIL_ATTEMPTS - 1) + ["accepted"]
    assert await _feed(positions, [3]) == []  # past the marker: a gap, read again once
    assert await _feed(positions, [3]) == [3]  # ... and the same again: accepted


@pytest.mark.asyncio
async def test_an_owned_partition_none_of_whose_records_came_is_read_again() -> None:
    """Assigned, committed 4, the broker has 7, and not one record arrives (the consumer
    dropped them all): from the committed offset after STUCK_NS; revoked: no longer."""
    positions, consumer, counted = _positions({2: 4})
    positions.assigned({2, 3})  # partition 3: nothing committed, nothing known
    consumer.highwaters = {2: 7, 3: 5}
    await positions.resume_stuck(0)
    await positions.resume_stuck(STUCK_NS)
    assert consumer.seeks == [(2, 4)]
    assert counted == ["reread"]
    assert await _feed(positions, [4, 5, 6], partition=2) == [4, 5, 6]
    positions.forget({2, 3})
    consumer.highwaters = {2: 9}
    await positions.resume_stuck(3 * STUCK_NS)
    await positions.resume_stuck(5 * STUCK_NS)
    assert consumer.seeks == [(2, 4)]


@pytest.mark.asyncio
async def test_the_commit_is_held_at_the_first_missing_offset_until_it_comes() -> None:
    """Committed 10, then 14: commits stop at 10 while 14.. are skipped; once 10 comes
    again the hold ends. The other partition is never held."""
    positions, _, _ = _positions({0: 10, 1: 3})
    assert positions.held(0) is None
    assert await _feed(positions, [14, 15]) == []
    assert positions.held(0) == 10
    assert positions.held(1) is None
    assert await _feed(positions, [10]) == [10]
    assert positions.held(0) is None


@pytest.mark.asyncio
async def test_a_gap_accepted_as_real_ends_its_hold() -> None:
    """The same gap twice is real: the commit may pass it then (nothing will come)."""
    positions, _, counted = _positions({0: 10})
    assert await _feed(positions, [14]) == []
    assert positions.held(0) == 10
    assert await _feed(positions, [14]) == [14]
    assert counted == ["reread", "accepted"]
    assert positions.held(0) is None


@pytest.mark.asyncio
async def test_a_partition_revoked_mid_re_read_stays_held_until_assigned_again() -> None:
    """Faust commits when partitions are revoked: the hold outlives the re-read state and
    ends when the partition is assigned again (reading resumes from the committed 10)."""
    positions, _, _ = _positions({0: 10})
    assert await _feed(positions, [14]) == []
    positions.forget({0})
    assert positions.held(0) == 10
    positions.assigned({1})
    assert positions.held(0) == 10
    positions.assigned({0, 1})
    assert positions.held(0) is None
