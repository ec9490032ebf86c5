"""On-call delivery wired into SlaService by the composition root, with fake alert sinks.

``build_service(..., alert_sinks=[ListAlertSink()])`` is the worker's wiring with the
HTTP sinks swapped for lists. Policy: ``small_policy`` (24x7; P1 first response 10m,
at risk at 7.5m; resolution 2h, at risk at 90m). Instants: ``ns(minutes)`` after
2026-11-23T08:00Z.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import structlog.testing

from slamon.bootstrap import Outputs, build_service
from slamon.core.oncall import Transition
from slamon.testing import EventLog, ListAlertSink, ListSink, ManualClock, at, small_policy
from slamon.testing import event_record as _event_record
from slamon.testing import instant as ns
from slamon.worker.settings import OncallSettings, Topics, WorkerSettings

INPUT = "ticket-events"
POLICY = small_policy()


class Harness:
    """The service with one Alertmanager-like and one webhook-like list sink."""

    def __init__(self, table: dict[bytes, bytes] | None = None, queue_size: int = 20_000,
                 sinks: list[Any] | None = None) -> None:  # fmt: skip
        self.table: dict[bytes, bytes] = {} if table is None else table
        self.am = ListAlertSink("alertmanager")
        self.hook = ListAlertSink("webhook", changes_only=True)
        self.clock = ManualClock(ns(0))
        settings = WorkerSettings(
            app_id="slamon", topics=Topics(events=INPUT), retention_s=3600.0,
            oncall=OncallSettings(resend_s=60.0, queue_size=queue_size),
        )  # fmt: skip
        outputs = Outputs(ListSink(), ListSink(), ListSink(), ListSink())
        sinks = sinks if sinks is not None else [self.am, self.hook]
        built = build_service(POLICY, settings, outputs=outputs, table=self.table,
                              clock=self.clock, alert_sinks=sinks)  # fmt: skip
        assert built.oncall is not None
        self.service, self.oncall, self.registry = built.service, built.oncall, built.registry
        self.offset = 0

    async def event(self, etype: str, minute: float, data: dict[str, Any] | None = None,
                    ticket: str = "T1", partition: int = 0) -> None:  # fmt: skip
        record = EventLog().add(etype, ticket, at(minute), data, id=f"{ticket}-{etype}-{minute}")
        self.offset += 1
        await self.service.handle(_event_record(record, INPUT, partition, self.offset))

    async def at(self, minute: float) -> None:
        self.clock.now = ns(minute)
        await self.service.tick()
        await self.oncall.drain()

    def metric(self, name: str, labels: dict[str, str]) -> float | None:
        return self.registry.get_sample_value(name, labels)


def brief(transitions: list[Transition]) -> list[tuple[str, str, str, str]]:
    return [(t.change, t.alert.alertname, t.alert.ticket_id, t.alert.sla) for t in transitions]


@pytest.mark.asyncio
async def test_clock_found_alerts_reach_the_sinks_and_resolve() -> None:
    """No further event: at risk at 7.5m, breached at 10m (the at-risk alert resolved), both
    delivered; a late response retracting the breach resolves it. The webhook gets the same
    changes; Alertmanager also gets the resends."""
    h = Harness()
    await h.event("ticket.created", 0, {"priority": "P1"})
    await h.at(8)
    assert h.am.changes() == [("fire", "SlaAtRisk", "T1", "first_response")]
    await h.at(11)
    assert h.am.changes()[1:] == [("resolve", "SlaAtRisk", "T1", "first_response"),
                                  ("fire", "SlaBreached", "T1", "first_response")]  # fmt: skip
    h.clock.now = ns(12)
    await h.event("ticket.responded", 9)
    await h.oncall.drain()
    assert h.am.changes()[3:] == [("resolve", "SlaBreached", "T1", "first_response")]
    assert h.hook.changes() == h.am.changes()
    h.oncall.resend(ns(13.5))  # over 60 s after both resolves (11m, 12m)
    await h.oncall.drain()
    assert [(t.change, t.status) for t in h.am.transitions()[4:]] == [("resend", "resolved")] * 2
    assert len(h.hook.transitions()) == 4  # no resends to a webhook


@pytest.mark.asyncio
async def test_metrics_count_sent_and_active() -> None:
    """Delivered transitions are counted per sink kind; the active gauge follows the firing
    set by alertname and severity."""
    h = Harness()
    await h.event("ticket.created", 0, {"priority": "P1"})
    await h.at(8)
    await h.at(11)  # fire at risk; resolve it, fire the breach
    active = {"alertname": "SlaBreached", "severity": "page"}
    assert h.metric("slamon_oncall_active_alerts", active) == 1
    sent = {"sink": "alertmanager", "result": "sent"}
    assert h.metric("slamon_oncall_notifications_total", sent) == 3
    assert h.metric("slamon_oncall_queued", {"sink": "webhook"}) == 0


@pytest.mark.asyncio
async def test_recovery_fires_what_fires_and_nothing_resolved() -> None:
    """A restarted worker (same table, new service) sends the standing breach of T1 at once,
    and nothing for T2, whose breach was retracted before the restart."""
    first = Harness()
    await first.event("ticket.created", 0, {"priority": "P1"})
    await first.event("ticket.created", 0, {"priority": "P1"}, ticket="T2")
    await first.at(11)
    first.clock.now = ns(12)
    await first.event("ticket.responded", 9, ticket="T2")
    second = Harness(table=dict(first.table))
    second.clock.now = ns(12)
    await second.service.on_recovered({0})
    await second.oncall.drain()
    assert second.am.changes() == [("fire", "SlaBreached", "T1", "first_response")]
    assert second.am.transitions()[0].alert.starts_at == ns(10)


@pytest.mark.asyncio
async def test_revoked_partitions_are_forgotten_not_resolved() -> None:
    """Partitions another worker takes: their alerts leave this pager without a resolve
    (the new owner keeps them firing)."""
    h = Harness()
    await h.event("ticket.created", 0, {"priority": "P1"}, partition=3)
    await h.at(11)
    sent = len(h.am.transitions())
    h.service.on_revoked({3})
    await h.at(20)
    assert len(h.am.transitions()) == sent
    assert h.metric("slamon_oncall_active_alerts",
                    {"alertname": "SlaBreached", "severity": "page"}) == 0  # fmt: skip


class Stuck:
    """A receiver that never answers."""

    kind, name, changes_only = "alertmanager", "stuck", False

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, batch: Any) -> None:
        self.calls += 1
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None


@pytest.mark.asyncio
async def test_burst_never_waits_for_a_stuck_receiver() -> None:
    """5,000 tickets breach at once while the receiver hangs: event handling and the clock
    tick finish (bounded time), the queue stays at its bound and counts what it dropped."""
    stuck = Stuck()
    h = Harness(queue_size=1000, sinks=[stuck])
    task = asyncio.ensure_future(h.oncall.run())
    try:
        for i in range(2500):
            await h.event("ticket.created", 0, {"priority": "P1"}, ticket=f"B{i}")
        started = time.monotonic()
        h.clock.now = ns(200)  # first response and resolution breached: 5,000 breaches
        await h.service.tick()
        await h.event("ticket.created", 199, {"priority": "P1"}, ticket="late")
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert elapsed < 5.0
    assert stuck.calls == 1  # one batch in flight, forever
    dispatcher = h.oncall.dispatchers[0]
    assert len(dispatcher) <= 1000
    dropped = h.metric("slamon_oncall_dropped_total", {"sink": "alertmanager"}) or 0
    assert dropped + len(dispatcher) + dispatcher.batch >= 5000
    assert h.service.engine.tickets["late"].fold.priority == "P1"  # processed meanwhile


@pytest.mark.asyncio
async def test_an_on_call_bug_never_dead_letters_an_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should computing what fires raise, the event is still processed (not dead-lettered)
    and the clock keeps ticking; the failure is logged without the ticket id."""
    h = Harness()
    await h.event("ticket.created", 0, {"priority": "P1"})
    await h.at(8)

    def broken(*_args: Any) -> tuple[()]:
        raise RuntimeError("bug")

    monkeypatch.setattr("slamon.worker.oncall.firing", broken)
    with structlog.testing.capture_logs() as logs:
        await h.event("ticket.responded", 8.5)
        await h.at(11)
    assert h.metric("slamon_events_total", {"result": "processed"}) == 2
    assert h.metric("slamon_events_total", {"result": "error"}) == 0
    failures = [entry for entry in logs if entry["event"] == "on-call update failed"]
    assert failures
    assert all("T1" not in str(entry) for entry in failures)
