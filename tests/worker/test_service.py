"""SlaService, the worker's shell, wired by the composition root to fakes: no Kafka, no Faust.

``bootstrap.build_service`` builds the same service the Faust app drives; here the
sinks are ``ListSink``s, the table is a dict, the clock a ``ManualClock``. Policy:
``small_policy`` (24x7; P1 first response 10m, at risk at 0.75 x 10m = 7.5m;
resolution 2h, at risk at 90m). Instants are ``ns(minutes)`` after 2026-11-23T08:00Z.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
import structlog
import structlog.testing

from slamon.bootstrap import Outputs, build_service
from slamon.core.decisions import alert_id
from slamon.core.live import LiveEngine, Snapshot
from slamon.core.timefmt import NS_PER_S
from slamon.testing import EventLog, ListSink, ManualClock, Record, at, small_policy
from slamon.testing import event_record as _event_record
from slamon.testing import instant as ns
from slamon.worker.settings import Topics, WorkerSettings

INPUT = "ticket-events"
MIN = 60 * NS_PER_S
SETTINGS = WorkerSettings(app_id="slamon", topics=Topics(events=INPUT), retention_s=3600.0)
TICKS = SETTINGS.topics.ticks(SETTINGS.app_id)
POLICY = small_policy()


class FailingFor:
    """The service's engine, except that ingesting ``ticket_id``'s events raises: a bug
    on one record. (A wrapper: a compiled core's methods cannot be patched.)"""

    def __init__(self, ticket_id: str, engine: LiveEngine) -> None:
        self.ticket_id, self.engine = ticket_id, engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def ingest(self, event: Any, now: int, shard: int = 0) -> Any:
        if event.ticket_id == self.ticket_id:
            raise RuntimeError("boom")
        return self.engine.ingest(event, now, shard)

    def ingest_many(self, events: Any, now: int, shard: int = 0) -> Any:
        if events[0].ticket_id == self.ticket_id:
            raise RuntimeError("boom")
        return self.engine.ingest_many(events, now, shard)


class Harness:
    """The service as the composition root builds it, wired to fakes."""

    def __init__(
        self,
        now: int | None = None,
        table: dict[bytes, bytes] | None = None,
        flush: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.table: dict[bytes, bytes] = {} if table is None else table
        self.alerts, self.outcomes = ListSink(), ListSink()
        self.dead_letter, self.ticks = ListSink(), ListSink()
        self.clock = ManualClock(ns(0) if now is None else now)
        outputs = Outputs(self.alerts, self.outcomes, self.dead_letter, self.ticks, flush)
        built = build_service(POLICY, SETTINGS, outputs=outputs, table=self.table,
                              clock=self.clock)  # fmt: skip
        self.service, self.registry = built.service, built.registry

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})

    def events(self, result: str) -> float | None:
        return self.metric("slamon_events_total", {"result": result})

    def alert_events(self) -> list[dict[str, Any]]:
        return self.alerts.values()


def event_record(obj: dict[str, Any], partition: int = 0, offset: int = 0) -> Record:
    """A structured-mode record of the input topic keyed by the event's subject."""
    return _event_record(obj, INPUT, partition, offset)


def created(ticket: str = "T1", minute: float = 0, priority: str = "P1") -> dict[str, Any]:
    """A created event with id ``c-<ticket>``."""
    data = {"priority": priority}
    return EventLog().add("ticket.created", ticket, at(minute), data, id=f"c-{ticket}")


def snapshot(h: Harness, ticket: str = "T1") -> list[Any]:
    return list(orjson.loads(h.table[ticket.encode()]))


# -- records in ------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_valid_record_is_processed_and_snapshotted() -> None:
    """A valid record: counted processed, its ticket's snapshot stored under the ticket key."""
    h = Harness()
    await h.service.handle(event_record(created(), partition=2, offset=41))
    assert h.events("processed") == 1
    assert list(h.table) == [b"T1"]
    record = snapshot(h)
    assert isinstance(h.table[b"T1"], bytes)
    stored = Snapshot.from_list(record)
    assert (stored.version, stored.shard) == (1, 2)  # version 1, shard = the record's partition
    assert [event[0] for event in stored.events] == ["c-T1"]
    assert h.service.inputs.expected == {2: 42}  # next offset to process
    assert h.dead_letter.sent == []
    assert h.metric("slamon_last_event_time_seconds") == ns(0) / NS_PER_S
    # creation makes the remote onsite pair final (not applicable): one outcome record
    assert [orjson.loads(s.value or b"")["status"] for s in h.outcomes.sent] == ["not_applicable"]


@pytest.mark.asyncio
async def test_invalid_json_goes_to_the_dead_letter_topic() -> None:
    """Unparseable JSON: original key and value dead-lettered with the reason and the source."""
    h = Harness()
    record = Record(INPUT, 3, 17, b"T1", b"{not json", [("trace", b"abc")])
    await h.service.handle(record)
    [sent] = h.dead_letter.sent
    assert (sent.key, sent.value) == (b"T1", b"{not json")
    headers = dict(sent.headers or [])
    assert headers["slamon_error"].startswith(b"not valid JSON")
    assert headers["slamon_source_topic"] == INPUT.encode()
    assert headers["slamon_source_partition"] == b"3"
    assert headers["slamon_source_offset"] == b"17"
    assert headers["trace"] == b"abc"  # the record's own headers are kept
    assert h.events("invalid") == 1
    assert h.events("processed") == 0
    assert h.table == {}
    assert h.service.inputs.expected == {3: 18}  # an invalid record is consumed, not retried


@pytest.mark.asyncio
async def test_record_keyed_by_another_ticket_is_dead_lettered() -> None:
    """A record whose key is not its subject is refused: the ticket would be split."""
    h = Harness()
    record = event_record(created())
    record.key = b"T2"
    await h.service.handle(record)
    [sent] = h.dead_letter.sent
    headers = dict(sent.headers or [])
    assert headers["slamon_error"] == b"record key 'T2' must be the ticket id 'T1'"
    assert h.events("invalid") == 1
    assert h.table == {}
    assert h.service.engine.tickets == {}


@pytest.mark.asyncio
async def test_binary_mode_record_is_processed() -> None:
    """A CloudEvents binary-mode record (ce_* headers, value = data) is processed."""
    h = Harness()
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"b-1"),
        ("ce_source", b"/crm"),
        ("ce_type", b"ticket.created"),
        ("ce_subject", b"T1"),
        ("ce_time", at(0).encode()),
    ]
    await h.service.handle(Record(INPUT, 0, 0, b"T1", orjson.dumps({"priority": "P2"}), headers))
    assert h.events("processed") == 1
    assert h.dead_letter.sent == []
    ticket = h.service.engine.tickets["T1"]
    assert (ticket.fold.priority, ticket.events[0].source) == ("P2", "/crm")
    assert b"T1" in h.table


@pytest.mark.asyncio
async def test_duplicate_record_is_counted_and_not_reprocessed() -> None:
    """The same event delivered twice counts one processed and one duplicate."""
    h = Harness()
    await h.service.handle(event_record(created(), offset=0))
    await h.service.handle(event_record(created(), offset=1))
    assert h.events("processed") == 1
    assert h.events("duplicate") == 1
    assert len(h.service.engine.tickets["T1"].events) == 1
    assert len(h.outcomes.sent) == 1  # the redelivery reports nothing again


@pytest.mark.asyncio
async def test_event_for_an_expired_ticket_is_counted_late() -> None:
    """After expiry, a further event for the ticket is counted late and not stored."""
    h = Harness()
    await h.service.handle(event_record(created(), offset=0))
    cancel = EventLog().add("ticket.cancelled", "T1", at(0), id="x")
    await h.service.handle(event_record(cancel, offset=1))
    h.clock.now = ns(60)  # final since 0 + 1h retention
    await h.service.tick()
    await h.service.handle(Record(TICKS, 0, 0, b"T1", b"expire"))
    survey = EventLog().add("survey.submitted", "T1", at(61), {"score": 8}, id="s")
    await h.service.handle(event_record(survey, offset=2))
    assert h.events("late") == 1
    assert h.events("processed") == 2
    assert h.table == {}


# -- the clock -------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_tick_past_deadline_emits_breach_and_a_persist_tick() -> None:
    """At 11m a P1 ticket created at 0 is at risk (7.5m) and breached (10m); a persist tick too."""
    h = Harness()
    await h.service.handle(event_record(created(), partition=5))
    assert h.alert_events() == []
    h.clock.now = ns(11)
    await h.service.tick()
    at_risk, breach = h.alert_events()
    assert at_risk["type"] == "sla.at_risk"
    assert breach["type"] == "sla.breached"
    assert breach["id"] == alert_id("T1", "first_response", "sla.breached", 1)
    assert breach["subject"] == "T1"
    assert breach["time"] == "2026-11-23T08:10:00.000Z"  # the 10m mark, not when seen
    assert breach["data"]["sla"] == "first_response"
    assert breach["data"]["detected_at"] == "2026-11-23T08:11:00.000Z"
    assert [s.key for s in h.alerts.sent] == [b"T1", b"T1"]
    assert [(s.key, s.value, s.partition) for s in h.ticks.sent] == [(b"T1", b"persist", 5)]
    assert (
        h.metric(
            "slamon_alerts_total",
            {"type": "sla.breached", "sla": "first_response", "priority": "P1"},
        )
        == 1
    )


@pytest.mark.asyncio
async def test_persist_tick_writes_the_current_snapshot() -> None:
    """Handling the persist tick stores the snapshot with the breach recorded as standing."""
    h = Harness()
    await h.service.handle(event_record(created(), partition=5))
    stored = Snapshot.from_list(snapshot(h))
    assert (stored.risk_sent, stored.standing) == (0, 0)  # nothing sent yet
    h.clock.now = ns(11)
    await h.service.tick()
    stored = Snapshot.from_list(snapshot(h))
    assert (stored.risk_sent, stored.standing) == (0, 0)  # the clock does not write the table
    [tick] = h.ticks.sent
    await h.service.handle(Record(TICKS, tick.partition or 0, 0, tick.key, tick.value))
    stored = Snapshot.from_list(snapshot(h))
    assert (stored.risk_sent, stored.standing) == (1, 1)  # first response: at risk, breach stands
    assert h.events("processed") == 1  # ticks are not input events


@pytest.mark.asyncio
async def test_persist_tick_for_an_unknown_ticket_writes_nothing() -> None:
    """A persist tick for a ticket the engine no longer holds leaves the table alone."""
    h = Harness()
    await h.service.handle(Record(TICKS, 0, 0, b"gone", b"persist"))
    assert h.table == {}


@pytest.mark.asyncio
async def test_expired_ticket_is_removed_from_the_table_via_an_expire_tick() -> None:
    """Cancelled at 5m, retention 1h: the tick at 65m sends an expire tick; it empties the table."""
    h = Harness()
    await h.service.handle(event_record(created(), partition=1, offset=0))
    cancel = EventLog().add("ticket.cancelled", "T1", at(5), id="x")
    h.clock.now = ns(5)
    await h.service.handle(event_record(cancel, partition=1, offset=1))
    assert b"T1" in h.table
    h.clock.now = ns(65)  # final since 5m + 1h retention
    await h.service.tick()
    assert [(s.key, s.value, s.partition) for s in h.ticks.sent] == [(b"T1", b"expire", 1)]
    assert "T1" not in h.service.engine.tickets
    await h.service.handle(Record(TICKS, 1, 0, b"T1", b"expire"))
    assert h.table == {}


@pytest.mark.asyncio
async def test_tick_sleeps_until_the_next_due_capped_at_200ms() -> None:
    """tick() returns the time to the next due instant, at most 0.2 s."""
    h = Harness()
    assert await h.service.tick() == 0.2  # nothing scheduled
    await h.service.handle(event_record(created()))
    due = h.service.engine.next_due()
    assert due == ns(7.5) - 1  # at-risk fires once now > due, i.e. from 7.5m on
    h.clock.now = due + 1 - 100_000_000  # 100 ms before the at-risk instant
    assert await h.service.tick() == 0.1
    h.clock.now = ns(1)  # 6.5 minutes before it: capped
    assert await h.service.tick() == 0.2
    assert h.alerts.sent == []


# -- rebalancing -----------------------------------------------------------------------------
async def filled_table() -> dict[bytes, bytes]:
    """Snapshots of P1 tickets A (partition 0) and B (partition 1), created at 0."""
    h = Harness()
    await h.service.handle(event_record(created("A"), partition=0))
    await h.service.handle(event_record(created("B"), partition=1))
    return h.table


async def big_table(tickets: int) -> dict[bytes, bytes]:
    """Snapshots of ``tickets`` P1 tickets on partition 0, created at 0."""
    h = Harness()
    for i in range(tickets):
        await h.service.handle(event_record(created(f"T{i}"), partition=0))
    return h.table


@pytest.mark.asyncio
async def test_a_long_rebuild_lets_other_tasks_run_and_completes() -> None:
    """5,000 tickets: another task gets the loop while they are rebuilt; all are restored."""
    h = Harness(table=await big_table(5000))
    ran_during: list[int] = []

    async def other_task() -> None:
        while not h.service.ready:
            ran_during.append(len(h.service.engine.tickets))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    await h.service.on_recovered({0})
    await other
    assert len(h.service.engine.tickets) == 5000
    assert h.service.ready is True
    assert any(0 < n < 5000 for n in ran_during)  # it ran mid-rebuild, not only after


@pytest.mark.asyncio
async def test_a_revocation_during_a_rebuild_stops_it_unready() -> None:
    """Partition 0 revoked while its 5,000 tickets are rebuilt: the rebuild gives up, the
    worker stays unready and holds none of them (the next recovery rebuilds what it owns)."""
    h = Harness(table=await big_table(5000))

    async def revoke_soon() -> None:
        while not h.service.engine.tickets:
            await asyncio.sleep(0)
        h.service.on_revoked({0})

    revoker = asyncio.create_task(revoke_soon())
    await h.service.on_recovered({0})
    await revoker
    assert h.service.ready is False
    assert len(h.service.engine.tickets) < 5000
    await h.service.on_recovered({0})  # the recovery after the rebalance
    assert len(h.service.engine.tickets) == 5000
    assert h.service.ready is True


@pytest.mark.asyncio
async def test_recovery_restores_active_partitions_and_emits_overdue_alerts() -> None:
    """Recovering partition 0 at 11m restores A only and fires its at-risk and breach at once."""
    table = await filled_table()
    h = Harness(now=ns(11), table=table)
    assert h.service.ready is False
    await h.service.on_recovered({0})
    assert set(h.service.engine.tickets) == {"A"}
    assert h.service.engine.tickets["A"].shard == 0
    assert [(a["type"], a["subject"], a["time"]) for a in h.alert_events()] == [
        ("sla.at_risk", "A", "2026-11-23T08:07:30.000Z"),
        ("sla.breached", "A", "2026-11-23T08:10:00.000Z"),
    ]
    assert h.service.ready is True
    assert h.metric("slamon_ready") == 1
    assert set(h.table) == {b"A", b"B"}  # B's snapshot stays for its owner
    # found by the clock: detection delay 11m - 10m = 60 s for the breach
    labels = {"type": "sla.breached", "found_by": "clock"}
    assert h.metric("slamon_alert_detection_delay_seconds_count", labels) == 1
    assert h.metric("slamon_alert_detection_delay_seconds_sum", labels) == 60.0


@pytest.mark.asyncio
async def test_recovery_keeps_tickets_already_in_memory() -> None:
    """A ticket the engine already holds is not restored over (no alert re-sent)."""
    h = Harness()
    await h.service.handle(event_record(created("A"), partition=0))
    h.clock.now = ns(11)
    await h.service.tick()
    assert len(h.alerts.sent) == 2
    await h.service.on_recovered({0})
    assert len(h.alerts.sent) == 2


@pytest.mark.asyncio
async def test_revoke_drops_tickets_of_those_partitions_and_clears_ready() -> None:
    """on_revoked({1}) forgets B (partition 1), keeps A, and marks the worker not ready."""
    table = await filled_table()
    h = Harness(table=table)
    await h.service.on_recovered({0, 1})
    assert set(h.service.engine.tickets) == {"A", "B"}
    h.service.on_revoked({1})
    assert set(h.service.engine.tickets) == {"A"}
    assert h.service.ready is False
    assert h.metric("slamon_ready") == 0
    assert set(h.table) == {b"A", b"B"}  # the changelog keeps B for its new owner


@pytest.mark.asyncio
async def test_detection_delay_counts_from_the_instant_or_from_when_the_record_was_readable() -> (
    None
):
    """Found by tick(): from the alert's instant. Found with an event: from the record's
    timestamp when later (the worker could not know before), so a stalled worker shows; a
    record without a timestamp is not observed."""
    h = Harness(now=ns(11))
    # A created at 0, stamped by the broker at 10.5m, read at 11m: 30 s late for both alerts
    record = dataclasses.replace(event_record(created("A", minute=0)), timestamp=ns(10.5) / 1e9)
    await h.service.handle(record)
    assert len(h.alerts.sent) == 2
    event = {"type": "sla.breached", "found_by": "event"}
    assert h.metric("slamon_alert_detection_delay_seconds_sum", event) == 30.0
    risk_event = {"type": "sla.at_risk", "found_by": "event"}
    assert h.metric("slamon_alert_detection_delay_seconds_sum", risk_event) == 30.0
    await h.service.handle(event_record(created("C", minute=0), offset=2))  # no timestamp
    assert h.metric("slamon_alert_detection_delay_seconds_count", event) == 1
    # B created at 11m: at risk 18.5m, breach 21m, both found by the tick at 22m
    await h.service.handle(event_record(created("B", minute=11), offset=1))
    h.clock.now = ns(22)
    await h.service.tick()
    assert [(a["type"], a["subject"]) for a in h.alert_events()[4:]] == [
        ("sla.at_risk", "B"),
        ("sla.breached", "B"),
    ]
    clock = {"type": "sla.breached", "found_by": "clock"}
    assert h.metric("slamon_alert_detection_delay_seconds_count", clock) == 1
    assert h.metric("slamon_alert_detection_delay_seconds_sum", clock) == 60.0  # 22m - 21m
    risk = {"type": "sla.at_risk", "found_by": "clock"}
    assert h.metric("slamon_alert_detection_delay_seconds_sum", risk) == 210.0  # 22m - 18.5m


# -- the live board ----------------------------------------------------------------------------
class FakeBoard:
    """Records samples and flushes; 'stale' partitions are set by the test."""

    def __init__(self) -> None:
        self.samples: list[tuple[str, str, int]] = []
        self.flushes: list[int] = []
        self.to_ask: list[int] = []

    def add(self, outcome: Any, partition: int) -> None:
        self.samples.append((outcome.ticket_id, outcome.sla, partition))

    def flush(self, partition: int, now: int) -> None:
        self.flushes.append(partition)

    def drop(self, partitions: set[int]) -> None:
        pass

    def stale(self, now: int) -> list[int]:
        out, self.to_ask = self.to_ask, []
        return out


@pytest.mark.asyncio
async def test_first_final_outcomes_go_to_the_board_and_quiet_partitions_get_a_flush_tick() -> None:
    """Newly final pairs feed the board; the clock asks a quiet partition to flush via a tick."""
    h = Harness()
    board = FakeBoard()
    h.service.board = board
    await h.service.handle(event_record(created(), partition=3))
    responded = EventLog().add("ticket.responded", "T1", at(4), id="r-T1")
    await h.service.handle(event_record(responded, partition=3, offset=1))
    # remote ticket: onsite not applicable at creation, first response final at 4m
    assert ("T1", "first_response", 3) in board.samples
    assert board.flushes == [3, 3]  # after each record of partition 3
    board.to_ask = [3]
    await h.service.tick()
    assert [(s.key, s.value, s.partition) for s in h.ticks.sent] == [(None, b"board", 3)]
    await h.service.handle(Record(TICKS, 3, 0, None, b"board"))
    assert board.flushes == [3, 3, 3]


@pytest.mark.asyncio
async def test_an_unexpected_error_dead_letters_the_record_and_the_stream_goes_on() -> None:
    """A bug on one record: dead-lettered as an internal error, counted, the next is processed."""
    h = Harness()
    h.service.engine = FailingFor("BAD", h.service.engine)  # type: ignore[assignment]
    await h.service.handle(event_record(created("BAD"), offset=0))
    await h.service.handle(event_record(created("T1"), offset=1))
    assert h.events("error") == 1
    assert h.events("processed") == 1
    [dead] = h.dead_letter.sent
    assert dict(dead.headers or [])["slamon_error"] == b"internal error: RuntimeError: boom"
    assert list(h.table) == [b"T1"]


@pytest.mark.asyncio
async def test_a_failing_tick_does_not_end_absence_detection() -> None:
    """The clock loop logs a failed tick and keeps going."""
    h = Harness()
    calls: list[int] = []

    async def tick() -> float:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        if len(calls) == 3:
            raise asyncio.CancelledError  # stop the loop for the test
        return 0.0

    h.service.tick = tick  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as logs, pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(h.service.run_clock(), timeout=5)
    assert len(calls) == 3
    assert [(e["event"], e["log_level"]) for e in logs] == [("clock tick failed", "error")]
    assert logs[0]["exc_info"] is True


@pytest.mark.asyncio
async def test_an_unreadable_snapshot_is_skipped_and_the_worker_becomes_ready() -> None:
    """Recovery logs and skips a snapshot it cannot read; the others are restored."""
    first = Harness()
    await first.service.handle(event_record(created("T1"), partition=0))
    table = dict(first.table)
    table[b"BROKEN"] = b"not json"
    table[b"FUTURE"] = orjson.dumps([99, 0, None, 0, 0, 0, [0, 0, 0], []])  # unknown version
    h = Harness(table=table)
    with structlog.testing.capture_logs() as logs:
        await h.service.on_recovered({0})
    assert h.service.ready
    assert set(h.service.engine.tickets) == {"T1"}
    failed = sorted(e["ticket_id"] for e in logs if e["event"] == "snapshot not restored")
    assert failed == ["BROKEN", "FUTURE"]
    [summary] = [e for e in logs if e["event"] == "recovered"]
    assert (summary["tickets_restored"], summary["snapshots_failed"]) == (1, 2)


@pytest.mark.asyncio
async def test_a_failure_after_the_engine_decided_dead_letters_that_record_only() -> None:
    """An error while emitting (here the outcome sink) loses no other record of the chunk."""
    h = Harness()
    real_send = h.outcomes.send

    async def failing_for_bad(**record: Any) -> None:
        if record["key"] == b"BAD":
            raise ValueError("year 0 is out of range")
        await real_send(**record)

    h.outcomes.send = failing_for_bad  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as logs:
        await h.service.handle(event_record(created("T1"), offset=0))
        await h.service.handle(event_record(created("BAD"), offset=1))
        await h.service.handle(event_record(created("T2"), offset=2))
    assert (h.events("processed"), h.events("error")) == (2, 1)
    [dead] = h.dead_letter.sent
    headers = dict(dead.headers or [])
    assert headers["slamon_error"] == b"internal error: ValueError: year 0 is out of range"
    assert headers["slamon_source_offset"] == b"1"
    assert {b"T1", b"T2"} <= set(h.table)
    [failed] = [e for e in logs if e["event"] == "record failed"]
    assert (failed["partition"], failed["offset"], failed["log_level"]) == (0, 1, "error")


@pytest.mark.asyncio
async def test_a_huge_invalid_record_is_dead_lettered_within_the_broker_limit() -> None:
    """A 5 MB value and a 900 KB reason: the dead letter is cut, marked, and fits 1 MiB."""
    h = Harness()
    value = b'{"specversion": "1.0", "type": "' + b"x" * 5_000_000 + b'"}'
    with structlog.testing.capture_logs() as logs:
        await h.service.handle(Record(INPUT, 0, 7, b"K" * 10_000, value))
    [dead] = h.dead_letter.sent
    headers = dict(dead.headers or [])
    size = (
        len(dead.value or b"")
        + len(dead.key or b"")
        + sum(len(k) + len(v) for k, v in dead.headers or [])
    )
    assert size < 1024 * 1024
    assert headers["slamon_truncated_from"] == str(len(value)).encode()
    assert headers["slamon_key_truncated_from"] == b"10000"
    assert len(headers["slamon_error"]) <= 300
    [logged] = [e for e in logs if e["event"] == "invalid record"]
    assert len(logged["reason"]) <= 300
    assert h.events("invalid") == 1


@pytest.mark.asyncio
async def test_a_future_dated_event_does_not_pin_the_last_event_gauge() -> None:
    """An event stamped a year ahead counts as seen now, so later real events still move it."""
    h = Harness()
    await h.service.handle(event_record(created("FUTURE", minute=525_600), offset=0))
    assert h.metric("slamon_last_event_time_seconds") == ns(0) / NS_PER_S
    h.clock.now = ns(5)
    await h.service.handle(event_record(created("T1", minute=4), offset=1))
    assert h.metric("slamon_last_event_time_seconds") == ns(4) / NS_PER_S


async def _many_tickets(h: Harness, region: Callable[[int], str]) -> list[str]:
    """5,000 P1 tickets with customer details in their data, all breached; the secrets."""
    secrets = []
    for i in range(5000):
        customer = {"name": f"Ana Cliente {i}", "phone": f"+34 600 {i:06d}",
                    "email": f"ana{i}@example.com", "address": f"Calle {i}"}  # fmt: skip
        secrets += [customer["email"], customer["phone"]]
        data = {"priority": "P1", "region": region(i), "customer": customer,
                "notes": f"call {customer['phone']}"}  # fmt: skip
        event = EventLog().add("ticket.created", f"T{i}", at(0), data, id=f"c-{i}")
        await h.service.handle(event_record(event, offset=i))
    h.clock.now = ns(11)  # every first response breaches: alerts and outcomes go out
    await h.service.tick()
    return secrets


def _series(h: Harness) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return sorted((s.name, tuple(sorted(s.labels.items())))
                  for m in h.registry.collect() for s in m.samples)  # fmt: skip


@pytest.mark.asyncio
async def test_event_data_never_becomes_metric_labels_logs_or_output_fields() -> None:
    """5,000 regions and customers' names, phones and e-mails: the region label keeps the
    first 50 regions and counts the rest as ``other``; nothing else becomes a label value,
    and no customer detail is echoed in outputs or logs."""
    same, distinct = Harness(), Harness()
    await _many_tickets(same, lambda _i: "north")
    with structlog.testing.capture_logs() as logs:
        secrets = await _many_tickets(distinct, lambda i: f"region-{i}")

    def as_north(series: list[tuple[str, tuple[tuple[str, str], ...]]]) -> set[Any]:
        return {(name, tuple((k, "north" if k == "region" else v) for k, v in labels))
                for name, labels in series}  # fmt: skip

    regions = {v for _, labels in _series(distinct) for k, v in labels if k == "region"}
    assert regions == {f"region-{i}" for i in range(50)} | {"other"}
    assert as_north(_series(distinct)) == as_north(_series(same))  # no other label moved
    assert len(distinct.alerts.sent) >= 5000
    outputs = b"".join(s.value or b"" for s in distinct.alerts.sent + distinct.outcomes.sent)
    text = outputs.decode() + repr(logs)
    assert len(secrets) == 10_000
    assert re.search(r"@example\.com|\+34 600|Cliente|Calle|region-", text) is None
    scrape = repr(_series(distinct))
    assert re.search(r"@example\.com|\+34 600|Cliente|Calle", scrape) is None


# -- writes a recovery may undo --------------------------------------------------------------
class GatedFlush:
    """A flush that returns only once ``open()`` is called: an outbox waiting on a broker."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> None:
        await self.gate.wait()


def responded(ticket: str = "A", minute: float = 4) -> dict[str, Any]:
    return EventLog().add("ticket.responded", ticket, at(minute), id=f"r-{ticket}")


@pytest.mark.asyncio
async def test_a_recovery_that_replays_an_older_snapshot_keeps_the_latest_write() -> None:
    """A's response is stored but its flush waits (broker down) when partition 0 is revoked;
    the recovery replays A's older snapshot. The rebuild uses the latest write, and the
    agent is asked (a persist tick) to store it again, locally and in the changelog."""
    flush = GatedFlush()
    h = Harness(flush=flush)
    await h.service.handle(event_record(created("A"), partition=0))
    await h.service.flush()  # delivered: settled
    older = h.table[b"A"]
    await h.service.handle(event_record(responded("A"), partition=0, offset=1))
    flush.gate.clear()
    waiting = asyncio.create_task(h.service.flush())
    await asyncio.sleep(0)
    h.service.on_revoked({0})
    h.table[b"A"] = older  # what Faust's changelog replay did, before the delivery
    flush.gate.set()
    await waiting
    assert len(h.service.unsettled) == 1  # revoked meanwhile: no proof it beat the replay
    with structlog.testing.capture_logs() as logs:
        await h.service.on_recovered({0})
    assert [e.type for e in h.service.engine.tickets["A"].events] == [
        "ticket.created",
        "ticket.responded",
    ]
    assert [(s.key, s.value, s.partition) for s in h.ticks.sent] == [(b"A", b"persist", 0)]
    assert [e["tickets"] for e in logs if e["event"].startswith("recovery replayed")] == [1]
    assert len(h.service.unsettled) == 0  # the recovery's own flush settled it


@pytest.mark.asyncio
async def test_writes_a_clean_flush_delivered_are_settled_and_the_table_is_trusted() -> None:
    """Delivered before the revocation: the recovered table is right, nothing is overlaid."""
    h = Harness(flush=GatedFlush())
    await h.service.handle(event_record(created("A"), partition=0))
    await h.service.handle(event_record(responded("A"), partition=0, offset=1))
    assert len(h.service.unsettled) == 1
    await h.service.flush()
    assert len(h.service.unsettled) == 0
    h.service.on_revoked({0})
    await h.service.on_recovered({0})
    assert len(h.service.engine.tickets["A"].events) == 2
    assert h.ticks.sent == []


@pytest.mark.asyncio
async def test_an_expiry_a_recovery_undid_is_not_resurrected() -> None:
    """A's snapshot deleted (expired) but not yet delivered; the replay brings it back:
    A is not rebuilt, and an expire tick deletes it again."""
    h = Harness(flush=GatedFlush())
    await h.service.handle(event_record(created("A"), partition=2))
    await h.service.flush()
    snapshot_a = h.table[b"A"]
    await h.service.handle(Record(topic=TICKS, partition=2, offset=0, key=b"A",
                                  value=b"expire"))  # fmt: skip
    assert b"A" not in h.table
    h.service.on_revoked({2})
    h.table[b"A"] = snapshot_a
    await h.service.on_recovered({2})
    assert "A" not in h.service.engine.tickets
    assert [(s.key, s.value, s.partition) for s in h.ticks.sent] == [(b"A", b"expire", 2)]


# -- the metrics the boards and rules read ---------------------------------------------------
async def feed(h: Harness, log: EventLog) -> None:
    for offset, line in enumerate(log.lines()):
        await h.service.handle(event_record(orjson.loads(line), offset=offset))


def sli(h: Harness, name: str, sla: str = "first_response", **labels: str) -> float | None:
    wanted = {"priority": "P1", "sla": sla, "service": "onsite", "region": "north", **labels}
    return h.metric(f"slamon_sla_{name}_total", wanted)


@pytest.mark.asyncio
async def test_a_breach_counts_in_the_sli_the_moment_the_clock_finds_it() -> None:
    """A P1 (onsite, north) unanswered at 10m + 1 ns: one breach counted then, by the clock,
    with no event and long before the ticket closes; B, answered at 4m, counts as met."""
    h = Harness()
    log = EventLog()
    log.created("A", at(0), priority="P1", service="onsite", region="north")
    log.created("B", at(0), priority="P1", service="onsite", region="north")
    log.add("ticket.responded", "B", at(4))
    await feed(h, log)
    assert sli(h, "breaches") is None
    assert sli(h, "met") == 1
    h.clock.now = ns(10) + 1
    await h.service.tick()
    assert sli(h, "breaches") == 1
    assert sli(h, "breach_retractions") is None


@pytest.mark.asyncio
async def test_a_retracted_breach_counts_as_a_retraction() -> None:
    """A P1 breached at 10m, then a late response at 9m arrives: one breach, one retraction,
    one met, so met / (met + breaches - retractions) = 1."""
    h = Harness(now=ns(12))
    log = EventLog()
    log.created("A", at(0), priority="P1", service="onsite", region="north")
    await feed(h, log)
    await h.service.tick()
    late = EventLog()
    late.add("ticket.responded", "A", at(9), id="late-r")
    await feed(h, late)
    assert (sli(h, "breaches"), sli(h, "breach_retractions"), sli(h, "met")) == (1, 1, 1)


@pytest.mark.asyncio
async def test_resolutions_reopens_and_survey_scores_are_counted_by_where() -> None:
    """Two resolutions (first-time fix yes, then unknown after a reopen), one reopen, scores
    9 and 4 in the 1..10 histogram, all labelled priority/service/region."""
    h = Harness(now=ns(60))
    log = EventLog()
    log.created("A", at(0), priority="P1", service="onsite", region="north")
    log.add("ticket.resolved", "A", at(20), {"first_time_fix": True})
    log.add("ticket.reopened", "A", at(30))
    log.add("ticket.resolved", "A", at(40))
    log.add("survey.submitted", "A", at(45), {"score": 9})
    log.add("survey.submitted", "A", at(46), {"score": 4})
    await feed(h, log)
    where = {"priority": "P1", "service": "onsite", "region": "north"}
    assert h.metric("slamon_resolutions_total", {**where, "first_time_fix": "yes"}) == 1
    assert h.metric("slamon_resolutions_total", {**where, "first_time_fix": "unknown"}) == 1
    assert h.metric("slamon_reopens_total", where) == 1
    assert h.metric("slamon_csat_score_bucket", {**where, "le": "4.0"}) == 1
    assert h.metric("slamon_csat_score_bucket", {**where, "le": "9.0"}) == 2
    assert h.metric("slamon_csat_score_sum", where) == 13


@pytest.mark.asyncio
async def test_dead_letters_are_counted_by_a_bounded_class_of_reason() -> None:
    """Unknown type, bad time, not JSON, an internal error: one count in each class."""
    h = Harness()
    await h.service.handle(event_record({**created(), "type": "ticket.exploded"}))
    await h.service.handle(event_record({**created(), "time": "yesterday"}, offset=1))
    await h.service.handle(Record(topic=INPUT, partition=0, offset=2, key=b"T1", value=b"{"))
    counts = {r: h.metric("slamon_dead_letters_total", {"reason": r})
              for r in ("unknown_type", "bad_time", "not_json", "internal_error")}  # fmt: skip
    assert counts == {"unknown_type": 1, "bad_time": 1, "not_json": 1, "internal_error": 0}


@pytest.mark.asyncio
async def test_duration_buckets_carry_the_ticket_as_an_openmetrics_exemplar() -> None:
    """OpenMetrics shows the answered ticket on its bucket; the classic format shows none."""
    from prometheus_client import generate_latest  # noqa: PLC0415
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics  # noqa: PLC0415

    h = Harness()
    log = EventLog()
    log.created("T42", at(0), priority="P1")
    log.add("ticket.responded", "T42", at(4))
    await feed(h, log)
    text = openmetrics(h.registry).decode()  # type: ignore[no-untyped-call]
    prefix = 'slamon_first_response_seconds_bucket{le="450.0",priority="P1"}'
    assert [line for line in text.splitlines() if line.startswith(prefix)] == [
        f'{prefix} 1.0 # {{ticket_id="T42"}} 240.0'
    ]
    assert "T42" not in generate_latest(h.registry).decode()
