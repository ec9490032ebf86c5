"""worker.backlog.handle_batch, a catch-up's batches (worker/catchup.py), against handle.

The same records through ``handle`` one by one and through ``handle_batch`` leave the
same table, the same last outcome per pair, the same dead letters and the same counts;
the batch's alerts are a subset of one-by-one's (one evaluation per ticket).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import pytest
import structlog.testing

from slamon.core.live import Snapshot
from slamon.policies import load_policy_or_default
from slamon.simulate import generate_log
from slamon.testing import EventLog, Record, at, instant
from slamon.worker.backlog import handle_batch
from tests.worker.test_service import INPUT, FailingFor, Harness, created, event_record


def messy_records(tickets: int, seed: int, partitions: int = 3) -> list[Record]:
    """A generated messy log (late, duplicate, invalid lines) as input records, keyed by
    subject, each ticket on one partition, offsets consecutive per partition."""
    offsets = [0] * partitions
    records = []
    for item in generate_log(load_policy_or_default(None), tickets, seed=seed, messy=True):
        value = item.encode() if isinstance(item, str) else orjson.dumps(item)
        subject = item.get("subject") if isinstance(item, dict) else None
        key = str(subject).encode() if subject is not None else None
        partition = zlib.crc32(key) % partitions if key is not None else 0
        records.append(Record(INPUT, partition, offsets[partition], key, value))
        offsets[partition] += 1
    return records


def last_outcomes(h: Harness) -> dict[tuple[str, str], dict[str, Any]]:
    last = {}
    for sent in h.outcomes.sent:
        record = orjson.loads(sent.value or b"")
        record.pop("time", None)  # when it was written
        last[(record["ticket_id"], record["sla"])] = record
    return last


def tickets(h: Harness) -> dict[bytes, tuple[Any, ...]]:
    """The table, without what one evaluation may say differently (risk_sent, generation)."""
    out = {}
    for key, value in h.table.items():
        s = Snapshot.from_list(orjson.loads(value))
        out[key] = (s.shard, s.final_since, s.settled, s.standing, s.events)
    return out


@pytest.mark.asyncio
@pytest.mark.parametrize("batch_size", [1, 7, 10_000])
async def test_batches_end_where_one_record_at_a_time_ends(batch_size: int) -> None:
    """A messy log: table, last outcomes, dead letters and counts equal handle's."""
    records = messy_records(120, seed=5)
    one, many = Harness(now=at_far()), Harness(now=at_far())
    with structlog.testing.capture_logs():
        for record in records:
            await one.service.handle(record)
        for partition in (0, 1, 2):
            mine = [r for r in records if r.partition == partition]
            for start in range(0, len(mine), batch_size):
                await handle_batch(many.service, mine[start : start + batch_size])
    assert one.events("invalid"), "the log must have invalid lines"
    assert one.events("duplicate"), "the log must have duplicates"
    for result in ("processed", "invalid", "duplicate", "late", "error"):
        assert many.events(result) == one.events(result), result
    assert tickets(many) == tickets(one)
    assert last_outcomes(many) == last_outcomes(one)

    def dead(h: Harness) -> list[tuple[bytes, bytes]]:
        return sorted((d.key or b"", d.value or b"") for d in h.dead_letter.sent)

    assert dead(many) == dead(one)
    one_ids = {a["id"] for a in one.alert_events()}
    many_ids = {a["id"] for a in many.alert_events()}
    assert many_ids
    assert many_ids <= one_ids


def at_far() -> int:
    return instant(60 * 24 * 400)  # long after the generated log: every deadline passed


@pytest.mark.asyncio
async def test_a_batch_stores_each_ticket_once_and_logs_no_alert_line() -> None:
    """Three events of a ticket in one batch: one snapshot write, one evaluation; the
    breach goes to the alerts topic but not to the log (the catch-up logs a summary)."""
    h = Harness(now=at_far())
    writes: list[bytes] = []

    class CountingTable(dict[bytes, bytes]):
        def __setitem__(self, key: bytes, value: bytes) -> None:
            writes.append(key)
            super().__setitem__(key, value)

    h.service.table = CountingTable()
    events = [created(), EventLog().add("ticket.updated", "T1", at(1), {"region": "north"})]
    batch = [event_record(e, partition=1, offset=i) for i, e in enumerate(events)]
    with structlog.testing.capture_logs() as logs:
        await handle_batch(h.service, batch)
    assert writes == [b"T1"]
    assert h.events("processed") == 2
    assert "sla.breached" in {a["type"] for a in h.alert_events()}
    assert not [e for e in logs if e["event"] == "alert" and e["log_level"] != "debug"]


@pytest.mark.asyncio
async def test_a_failing_ticket_dead_letters_its_records_only() -> None:
    """A bug on one ticket of the batch: its records dead-lettered as errors, the other
    ticket of the same batch processed."""
    h = Harness(now=at_far())
    h.service.engine = FailingFor("T2", h.service.engine)  # type: ignore[assignment]
    batch = [event_record(created("T1"), offset=0), event_record(created("T2"), offset=1)]
    with structlog.testing.capture_logs():
        await handle_batch(h.service, batch)
    assert list(h.table) == [b"T1"]
    [dead] = h.dead_letter.sent
    assert dead.key == b"T2"
    assert dict(dead.headers or [])["slamon_error"] == b"internal error: RuntimeError: boom"
    assert (h.events("processed"), h.events("error")) == (1, 1)


@pytest.mark.asyncio
async def test_invalid_records_of_a_batch_are_dead_lettered_with_their_reason() -> None:
    """An invalid record inside a batch: dead-lettered with its reason, the rest applied."""
    h = Harness(now=at_far())
    batch = [Record(INPUT, 0, 0, b"T1", b"{not json"), event_record(created(), offset=1)]
    with structlog.testing.capture_logs():
        await handle_batch(h.service, batch)
    [dead] = h.dead_letter.sent
    assert dict(dead.headers or [])["slamon_error"].startswith(b"not valid JSON")
    assert (h.events("processed"), h.events("invalid")) == (1, 1)
    assert list(h.table) == [b"T1"]
