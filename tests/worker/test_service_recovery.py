"""A recovery that a rebalance cut short, then the full one: the engine ends on the table.

Faust can report a recovery as complete although a rebalance cut it short (seen in the
catch-up test: a worker joining mid-recovery restored 2,775 of 3,899 tickets, some from
older changelog records, then 1,124 more after the next recovery, keeping the old ones).
"""

from __future__ import annotations

import pytest
import structlog.testing

from slamon.testing import EventLog, at
from slamon.testing import instant as ns
from tests.worker.test_service import Harness, created, event_record


async def snapshots(*counts: int) -> list[bytes]:
    """T1's table value after its first ``count`` events, for each count."""
    log = EventLog()
    events = [created(), log.add("ticket.responded", "T1", at(5)),
              log.add("ticket.resolved", "T1", at(20))]  # fmt: skip
    values = []
    for count in counts:
        h = Harness()
        for offset, event in enumerate(events[:count]):
            await h.service.handle(event_record(event, offset=offset))
        values.append(h.table[b"T1"])
    return values


@pytest.mark.asyncio
async def test_a_partition_rebuilt_with_no_write_since_is_rebuilt_again() -> None:
    """First recovery: an older snapshot (the cut-short read); second: the latest. The
    engine takes the latest, since nothing was written for the partition in between."""
    old, new = await snapshots(1, 3)
    h = Harness(table={b"T1": old})
    with structlog.testing.capture_logs():
        await h.service.on_recovered({0})
        assert len(h.service.engine.tickets["T1"].events) == 1
        h.table[b"T1"] = new  # the next recovery read the rest of the changelog
        await h.service.on_recovered({0})
    assert len(h.service.engine.tickets["T1"].events) == 3


@pytest.mark.asyncio
async def test_a_partition_written_since_its_rebuild_keeps_the_engine() -> None:
    """A record handled after the rebuild makes the engine ahead of the table: a second
    recovery keeps the engine's ticket, not an older table value."""
    [old] = await snapshots(1)
    h = Harness(table={b"T1": old})
    with structlog.testing.capture_logs():
        await h.service.on_recovered({0})
        await h.service.handle(event_record(EventLog().add("ticket.responded", "T1", at(5)),
                                            offset=1))  # fmt: skip
        h.service.unsettled.settle(h.service.unsettled.mark())  # flushed: the broker has it
        h.table[b"T1"] = old  # a stale value the second recovery brings back
        await h.service.on_recovered({0})
    assert len(h.service.engine.tickets["T1"].events) == 2


@pytest.mark.asyncio
async def test_a_breach_raised_from_the_cut_short_table_is_retracted_by_the_full_one() -> None:
    """The cut-short table lacks T1's response: its rebuild raises a first-response breach.
    The full table has the response in time: its rebuild retracts that breach, so that the
    alerts topic does not end on a breach that never was."""
    old, new = await snapshots(1, 2)  # created; created and responded at minute 5
    h = Harness(now=ns(30), table={b"T1": old})  # P1: first response within 10 minutes
    with structlog.testing.capture_logs():
        await h.service.on_recovered({0})
        h.table[b"T1"] = new
        await h.service.on_recovered({0})
    first_response = [a["type"] for a in h.alert_events() if a["data"]["sla"] == "first_response"]
    assert first_response == ["sla.at_risk", "sla.breached", "sla.breach_retracted"]


@pytest.mark.asyncio
async def test_a_recovery_a_rebalance_superseded_leaves_the_worker_unready_until_the_next() -> None:
    """Faust hands the table callbacks a recovery that a later rebalance superseded
    (slamon.adapters.private_api.recovery_superseded): the worker says so, counts it, and
    is not ready; the next recovery rebuilds and makes it ready again."""
    [new] = await snapshots(3)
    h = Harness(table={b"T1": new})
    with structlog.testing.capture_logs() as logs:
        await h.service.on_recovered({0})
        assert h.metric("slamon_ready") == 1
        h.service.recovery_superseded()
        assert h.metric("slamon_ready") == 0
        assert h.metric("slamon_recoveries_superseded_total") == 1
        await h.service.on_recovered({0})
    assert h.metric("slamon_ready") == 1
    assert h.metric("slamon_recoveries_total") == 2
    assert [e["event"] for e in logs if "recover" in e["event"]] == [
        "recovered",
        "recovery superseded by a rebalance; the next one rebuilds",
        "recovered",
    ]
