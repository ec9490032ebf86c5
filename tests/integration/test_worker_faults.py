"""Faults on a real broker: a restart, a hang, a refused produce, a kill in a slow rebalance.

The broker is one of the module's own (``fresh_broker``; the shared one is never touched),
stopped, started again on the same data dir, or paused with SIGSTOP by the tests. Each test
publishes events at their event time before, during and after its fault, from a background
producer that rides the fault out, and checks that:

- nothing is lost: the worker's final outcomes (status and elapsed, last record per
  (ticket, SLA)) and standing breaches equal ``slamon replay``'s on the same events, and the
  set of alert ids it emitted equals replay's (an id may repeat: consumers deduplicate);
- the worker recovers by itself and is ready again afterwards; the only restart is the one an
  orchestrator would do (``Supervisor``): a worker that gives up with exit code 70 (a crash
  loop, a recovery without progress) is started again, and the test reports how often.

Stops inside a fault window come after their deadline (breached and stopped), so the result
is the same however late the worker sees them; stops of tickets created before or after a
fault come well before their deadlines (met).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from slamon.adapters.kafka import key_of
from slamon.core.decisions import AlertType
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import NS_PER_S, format_rfc3339, parse_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.worker.app import CRASH_LOOP_EXIT_CODE
from tests.integration.harness import (
    Deployment,
    FreshBroker,
    Worker,
    fresh_broker,
    short_policy,
    wait_until,
)

pytestmark = pytest.mark.faults

S = NS_PER_S
LAST_DEADLINE_S = 10  # the latest deadline of a wave after its creation (P2 resolution)
PUBLISH_TIMEOUT_S = 150.0  # a background publisher gives up after this long
RECOVERY_STALL_LIMIT_S = 20.0
SETTLE_TIMEOUT_S = 60.0  # the worker reaches replay's results within this after the end


# -- events ---------------------------------------------------------------------------------
def _event(ticket: str, kind: str, at: int, data: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({
        "specversion": "1.0", "id": f"{ticket}-{kind}", "source": "/faults", "type": kind,
        "subject": ticket, "time": format_rfc3339(at), "data": data or {},
    })  # fmt: skip


@dataclass(frozen=True)
class Event:
    at: int  # event time, ns: also when it is published
    line: bytes


# story: (priority, service, [(event type, seconds after creation)])
STORIES: dict[str, tuple[str, str, list[tuple[str, float]]]] = {
    # never answered: every SLA breaches (P1 onsite at 4/6/8 s, P2 remote at 6/10 s)
    "open-p1": ("P1", "onsite", []),
    "open-p2": ("P2", "remote", []),
    # answered in time: met (at-risk points are 2 s and 4 s away)
    "met": ("P1", "remote", [("ticket.responded", 1.0), ("ticket.resolved", 2.0)]),
    # answered late: breached, then stopped (first response 4 s, resolution 8 s)
    "late": ("P1", "remote", [("ticket.responded", 6.0), ("ticket.resolved", 10.0)]),
}
BEFORE = ("open-p1", "open-p2", "met", "late")  # a fault comes 3 s or more after creation
DURING = ("open-p1", "open-p2", "late")  # no stop that a delay could turn into a breach


def wave(prefix: str, created: int, stories: tuple[str, ...], copies: int = 2) -> list[Event]:
    """``copies`` tickets of each story (ticket ids unique), created at ``created`` (ns)."""
    out = []
    for index, story in enumerate(stories * copies):
        priority, service, steps = STORIES[story]
        ticket = f"{prefix}-{index}-{story}"
        data = {"priority": priority, "service": service}
        out.append(Event(created, _event(ticket, "ticket.created", created, data)))
        for kind, after_s in steps:
            at = created + int(after_s * S)
            out.append(Event(at, _event(ticket, kind, at)))
    return out


# -- publishing through faults --------------------------------------------------------------
class Publisher(threading.Thread):
    """Publishes each event when the wall clock reaches its time, riding out broker faults.

    One producer for the whole schedule: records sent while the broker is down or hung
    wait in its buffer and go out once it answers again (request timeout 120 s).
    """

    def __init__(self, bootstrap: str, topic: str, events: list[Event]) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.events = sorted(events, key=lambda e: e.at)  # stable: per ticket in order
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(asyncio.wait_for(self._publish(), PUBLISH_TIMEOUT_S))
        except BaseException as exc:  # handed to the test thread by finish()
            self.error = exc

    async def _publish(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5,
            request_timeout_ms=120_000, retry_backoff_ms=250,
        )  # fmt: skip
        await producer.start()
        try:
            sent = []
            for event in self.events:
                wait_s = (event.at - time.time_ns()) / S
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                sent.append(await producer.send(self.topic, event.line, key=key_of(event.line)))
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    def finish(self, timeout_s: float) -> None:
        self.join(timeout_s)
        if self.is_alive():
            pytest.fail(f"the publisher did not finish within {timeout_s}s")
        if self.error is not None:
            raise self.error


@dataclass
class Stream:
    """Everything one test publishes, for the comparison with replay at the end."""

    deployment: Deployment
    events: list[Event] = field(default_factory=list)
    publishers: list[Publisher] = field(default_factory=list)

    def publish(self, events: list[Event]) -> None:
        """Publish ``events`` in the background, each at its event time."""
        self.events += events
        publisher = Publisher(self.deployment.bootstrap, self.deployment.topic("events"), events)
        publisher.start()
        self.publishers.append(publisher)

    def due(self, now: int) -> int:
        """How many events are due to be published by ``now`` (ns)."""
        return sum(1 for e in self.events if e.at <= now)

    def finish(self, timeout_s: float = 60.0) -> None:
        for publisher in self.publishers:
            publisher.finish(timeout_s)

    def lines(self) -> list[bytes]:
        return [e.line for e in sorted(self.events, key=lambda e: e.at)]


class Tail(threading.Thread):
    """Reads the alerts topic as records arrive: when each alert id was first delivered."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.delivered: dict[str, int] = {}  # alert id -> wall clock (ns) first read
        self.done = threading.Event()

    def run(self) -> None:
        asyncio.run(self._tail())

    async def _tail(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
            enable_auto_commit=False, request_timeout_ms=120_000,
        )  # fmt: skip
        await consumer.start()
        try:
            while not self.done.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                now = time.time_ns()
                for records in batches.values():
                    for record in records:
                        alert_id = orjson.loads(record.value or b"")["id"]
                        self.delivered.setdefault(alert_id, now)
        finally:
            await asyncio.wait_for(consumer.stop(), 15)

    def close(self) -> None:
        self.done.set()
        self.join(30)


class Watch(threading.Thread):
    """Polls a worker's /readyz and health metrics every half second during a fault."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(daemon=True)
        self.worker = worker
        self.done = threading.Event()
        self.not_ready: list[dict[str, Any]] = []  # /readyz bodies answered with 503
        self.most: dict[str, float] = {}  # the largest value seen of each number below

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                status, body = readiness(self.worker)
                metrics = {name: self.worker.metric(name) for name in (
                    "slamon_outputs_stalled_seconds", "slamon_broker_silent_seconds",
                    "slamon_produce_retries_total")}  # fmt: skip
            except OSError:  # e.g. the worker was just killed
                continue
            if status == 503:
                self.not_ready.append(body)
            numbers = {**metrics, "outputs_stalled_seconds": body["outputs_stalled_seconds"],
                       "broker_silent_seconds": body.get("broker_silent_seconds", 0.0)}  # fmt: skip
            for name, value in numbers.items():
                self.most[name] = max(self.most.get(name, 0.0), float(value))

    def close(self) -> None:
        self.done.set()
        self.join(30)

    def stall_reported(self) -> bool:
        """/readyz was 503 for a stall or a silent broker, or a stall metric moved."""
        return any(
            b["outputs_stalled_seconds"] > 0 or b.get("broker_silent_seconds", 0) > 0
            for b in self.not_ready
        ) or any(self.most.get(name, 0.0) > 0 for name in (
            "slamon_outputs_stalled_seconds", "slamon_broker_silent_seconds",
            "slamon_produce_retries_total"))  # fmt: skip

    def facts(self) -> dict[str, object]:
        return {"readyz_503": len(self.not_ready),
                **{name: round(value, 1) for name, value in sorted(self.most.items())}}  # fmt: skip


# -- what replay says, and whether the worker agrees ----------------------------------------
def _alerts(deployment: Deployment) -> list[dict[str, Any]]:
    return [orjson.loads(m.value or b"") for m in deployment.read("alerts")]


def _last_outcomes(deployment: Deployment) -> dict[tuple[str, str], dict[str, Any]]:
    last = {}
    for message in deployment.read("outcomes"):
        record = orjson.loads(message.value or b"")
        last[(record["ticket_id"], record["sla"])] = record
    return last


@dataclass(frozen=True)
class Agreement:
    alerts: int  # alert records read
    duplicates: int  # of them, repeats of an id already seen
    alert_list: list[dict[str, Any]]


def settle_and_compare(stream: Stream, policy: SlaPolicy) -> Agreement:
    """Wait for every deadline and event to be handled; the worker must equal replay."""
    stream.finish()
    last_deadline = max(e.at for e in stream.events) + LAST_DEADLINE_S * S
    wait_s = (last_deadline - time.time_ns()) / S + 0.5
    if wait_s > 0:
        time.sleep(wait_s)
    until = time.time_ns()
    expected = replay(stream.lines(), policy, until=until)
    assert expected.processed == len(stream.events)
    settled = {(o.ticket_id, o.sla): o for o in expected.outcomes
               if o.stopped or o.status in ("cancelled", "not_applicable")}  # fmt: skip
    expected_ids = {a.id for a in expected.alerts}
    deployment = stream.deployment

    missing: dict[str, list[str]] = {}

    def complete() -> bool:
        seen = {a["id"] for a in _alerts(deployment)}
        outcomes = set(_last_outcomes(deployment))
        missing["alerts"] = sorted(f"{a.type} {a.ticket_id} {a.sla}" for a in expected.alerts
                                   if a.id not in seen)  # fmt: skip
        missing["outcomes"] = sorted(f"{t} {sla}" for t, sla in set(settled) - outcomes)
        return not missing["alerts"] and not missing["outcomes"]

    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not complete():
        if time.monotonic() > deadline:  # name what is missing: the first thing to look at
            pytest.fail(f"after {SETTLE_TIMEOUT_S}s the workers still lack what replay has: "
                        f"{missing}")  # fmt: skip
        time.sleep(0.25)
    time.sleep(1.0)  # anything extra the worker might still emit
    last = _last_outcomes(deployment)
    assert set(last) == set(settled), {
        "outcomes missing": sorted(set(settled) - set(last)),
        "outcomes extra": sorted(set(last) - set(settled)),
    }
    for pair, outcome in settled.items():
        record = last[pair]
        assert record["status"] == outcome.status, (pair, record)
        assert round(float(record["elapsed_seconds"]), 3) == round(outcome.elapsed_ns / S, 3), (
            pair, record,
        )  # fmt: skip
    alerts = _alerts(deployment)
    standing: dict[tuple[str, str], str] = {}
    for alert in alerts:
        if alert["type"] in (AlertType.BREACHED, AlertType.RETRACTED):
            standing[(alert["subject"], alert["data"]["sla"])] = alert["type"]
    worker_breaches = {pair for pair, kind in standing.items() if kind == AlertType.BREACHED}
    replay_breaches = {(o.ticket_id, o.sla) for o in expected.outcomes if o.status == "breached"}
    assert worker_breaches == replay_breaches
    counts = Counter(alert["id"] for alert in alerts)
    assert set(counts) == expected_ids, {
        "missing": sorted(expected_ids - set(counts)),
        "extra": sorted(set(counts) - expected_ids),
    }
    return Agreement(len(alerts), sum(n - 1 for n in counts.values()), alerts)


def detection_delays_s(alerts: list[dict[str, Any]], since: int, until: int) -> list[float]:
    """Detection delays (first detected_at - at, seconds) of breaches due in [since, until]."""
    delays: dict[str, float] = {}
    for alert in alerts:
        at = parse_rfc3339(alert["data"]["at"])
        if alert["type"] == AlertType.BREACHED and since <= at <= until:
            delay = (parse_rfc3339(alert["data"]["detected_at"]) - at) / S
            delays[alert["id"]] = min(delay, delays.get(alert["id"], delay))
    return sorted(delays.values())


def delivery_delays_s(tail: Tail, alerts: list[dict[str, Any]], since: int, until: int
                      ) -> list[float]:  # fmt: skip
    """Delays from deadline to first delivery (seconds) of breaches due in [since, until]."""
    delays = {}
    for alert in alerts:
        at = parse_rfc3339(alert["data"]["at"])
        if alert["type"] == AlertType.BREACHED and since <= at <= until:
            delays[alert["id"]] = (tail.delivered[alert["id"]] - at) / S
    return sorted(delays.values())


def recovered_partitions(worker: Worker) -> list[int]:
    """The partitions of the worker's last "recovered" log line ([] before the first)."""
    partitions: list[int] = []
    for record in _log_records(worker):
        if record.get("event") == "recovered":
            partitions = record["partitions"]
    return partitions


def _log_records(worker: Worker) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in worker.log().splitlines() if line[:1] == "{"]


def catch_up(worker: Worker, stream: Stream, what: str, timeout_s: float = 60.0) -> None:
    """Wait until ``worker`` processed every event due so far and is ready again.

    A worker that lost an event never gets there: after ``timeout_s`` the test goes on,
    and the comparison with replay says what is missing.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processed = worker.metric("slamon_events_total", result="processed")
        if processed >= stream.due(time.time_ns()) and readiness(worker)[0] == 200:
            return
        time.sleep(0.25)
    report(f"{what}: not caught up after {timeout_s}s (an event lost?)")


def readiness(worker: Worker) -> tuple[int, dict[str, Any]]:
    """/readyz: its status code and body (503 is an answer here, not an error)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/readyz", timeout=5) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def report(what: str, **facts: object) -> str:
    """Facts about a fault, printed (shown with ``-rP`` or ``-s``); returns the line."""
    line = f"[faults] {what}: " + ", ".join(f"{k}={v}" for k, v in facts.items())
    print(line)  # noqa: T201
    return line


class Supervisor(threading.Thread):
    """An orchestrator's restart policy for every worker of a deployment: one that exits
    with code 70 (it gave up: a crash loop, a recovery without progress) is started again,
    as Kubernetes would."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(daemon=True)
        self.deployment, self._done = deployment, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.5):
            for worker in list(self.deployment.workers):
                proc = worker.proc
                if proc is not None and proc.poll() == CRASH_LOOP_EXIT_CODE:
                    self.deployment.restarts += 1
                    report("worker exited 70 and was restarted", port=worker.port)
                    with worker.log_path.open("ab") as log:
                        worker.proc = subprocess.Popen(worker.args, env=worker.env,
                                                       stdout=log, stderr=log)  # fmt: skip

    def close(self) -> None:
        self._done.set()
        self.join(timeout=5)


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshBroker]:
    """One broker of the module's own, for every fault test here."""
    with fresh_broker(tmp_path_factory.mktemp("kafka")) as own:
        yield own


@pytest.fixture
def faulty(broker: FreshBroker, tmp_path: Path) -> Iterator[Deployment]:
    """A deployment on the module's broker, which is up (and not paused) before and after."""
    broker.resume()
    broker.start()  # a no-op when it runs: left down by a failed test, it comes back
    deploy = Deployment(broker.bootstrap, tmp_path, partitions=2)
    deploy.policy = short_policy(tmp_path)
    # a recovery stuck after the broker's unclean restart ends the worker within the waits
    deploy.extra_args = ["--recovery-stall-limit", f"{RECOVERY_STALL_LIMIT_S:.0f}s"]
    supervisor = Supervisor(deploy)  # a worker that gives up (exit 70) is restarted
    supervisor.start()
    try:
        yield deploy
    finally:
        supervisor.close()
        for worker in deploy.workers:
            worker.kill(signal.SIGTERM)
        broker.resume()
        broker.start()


def _policy(deployment: Deployment) -> SlaPolicy:
    return load_policy_or_default(str(deployment.policy))


# -- the tests ------------------------------------------------------------------------------
def test_broker_restart_mid_stream_loses_nothing(faulty: Deployment, broker: FreshBroker) -> None:
    """The broker shuts down and comes back on its data dir while deadlines pass."""
    worker = faulty.worker().start()
    stream = Stream(faulty)
    start = time.time_ns() + S
    fault_at = start + 4 * S
    stream.publish(wave("rs-a", start, BEFORE) + wave("rs-b", fault_at + 2 * S, DURING))
    time.sleep(max(0.0, (fault_at - time.time_ns()) / S))

    watch = Watch(worker)
    watch.start()
    down = time.monotonic()
    try:
        broker.stop()
        time.sleep(2.0)  # down for a while: deadlines pass, events wait in the publisher
        broker.start()
        up = time.monotonic()
        catch_up(worker, stream, "after the broker restart")
        back = time.monotonic()
    finally:
        watch.close()

    after = time.time_ns() + S
    stream.publish(wave("rs-c", after, BEFORE))
    agreement = settle_and_compare(stream, _policy(faulty))
    on_time = detection_delays_s(agreement.alert_list, after, after + LAST_DEADLINE_S * S)
    assert on_time, "deadlines after the restart must fire"
    assert max(on_time) < 1.0, on_time  # and fire on time again
    assert readiness(worker)[0] == 200
    report("broker restart", down_s=round(up - down, 1),
           worker_caught_up_after_up_s=round(back - up, 1), alerts=agreement.alerts,
           duplicates=agreement.duplicates, max_delay_after_s=round(max(on_time), 3),
           **watch.facts())  # fmt: skip


HANG_S = 20.0


def test_broker_hang_delays_alerts_but_loses_none(faulty: Deployment, broker: FreshBroker) -> None:
    """SIGSTOP for 20 s mid-stream: alerts due meanwhile are all delivered after SIGCONT.

    Readiness must report the hang while it lasts (503 after 10 s of a silent broker or of
    outputs waiting; or the stall metrics move).
    """
    worker = faulty.worker().start()
    tail = Tail(faulty.bootstrap, faulty.topic("alerts"))
    tail.start()
    stream = Stream(faulty)
    start = time.time_ns() + S
    fault_at = start + 4 * S
    stream.publish(wave("hg-a", start, BEFORE) + wave("hg-b", fault_at + 2 * S, DURING))
    time.sleep(max(0.0, (fault_at - time.time_ns()) / S))

    watch = Watch(worker)
    watch.start()
    paused_at = time.time_ns()
    try:
        broker.pause()
        time.sleep(HANG_S)
        broker.resume()
        resumed_at = time.time_ns()
        catch_up(worker, stream, "after the hang")
        back = time.time_ns()
    finally:
        watch.close()
    try:
        after = time.time_ns() + S
        stream.publish(wave("hg-c", after, BEFORE))
        agreement = settle_and_compare(stream, _policy(faulty))
    finally:
        tail.close()
    detected = detection_delays_s(agreement.alert_list, paused_at, resumed_at)
    delivered = delivery_delays_s(tail, agreement.alert_list, paused_at, resumed_at)
    assert delivered, "deadlines must pass during the hang"
    assert all(t > resumed_at for t in (tail.delivered[a["id"]] for a in agreement.alert_list
               if paused_at + S <= parse_rfc3339(a["data"]["at"]) <= resumed_at))  # fmt: skip
    on_time = detection_delays_s(agreement.alert_list, after, after + LAST_DEADLINE_S * S)
    assert max(on_time) < 1.0, on_time
    facts = report(
        "broker hang", hang_s=HANG_S, caught_up_after_resume_s=round((back - resumed_at) / S, 1),
        due_during_hang=len(delivered), detection_delay_s=f"{detected[0]:.1f}..{detected[-1]:.1f}",
        delivery_delay_s=f"{delivered[0]:.1f}..{delivered[-1]:.1f}", alerts=agreement.alerts,
        duplicates=agreement.duplicates, **watch.facts(),
    )  # fmt: skip
    assert watch.stall_reported(), f"nothing reported the hang while it lasted: {facts}"
    assert readiness(worker)[0] == 200


def test_outputs_refused_by_a_dead_broker_never_ack_their_input(
    faulty: Deployment, broker: FreshBroker
) -> None:
    """The broker dies (SIGKILL) as two workers write a burst; one of them dies before it
    is back, with those outputs unwritten: the survivor, which rode the outage out by
    itself, must redo them (inputs read again, alerts fired again from the table).
    """
    first = faulty.worker(0).start()
    second = faulty.worker(1).start()
    wait_until(lambda: len(recovered_partitions(first)) == len(recovered_partitions(second)) == 1,
               30, "the two workers to split the partitions")  # fmt: skip
    stream = Stream(faulty)
    start = time.time_ns() + S
    first_due = start + 4 * S  # P1 first response: 12 breaches due at this instant
    burst = wave("rf-a", start, ("open-p1", "late"), copies=6)
    stream.publish(burst + wave("rf-b", first_due + 2 * S, DURING))
    # inputs up to the kill: a ticket created every 25 ms in the 300 ms before it (its
    # snapshot, and for a remote one a not_applicable outcome, are its outputs). No stop:
    # a stop read again after a takeover later than its deadline would breach, then retract.
    creating = [wave(f"rf-n{i}", first_due - int((0.4 - 0.025 * i) * S),
                     (("open-p1", "open-p2")[i % 2],), copies=1) for i in range(12)]  # fmt: skip
    stream.publish([event for tickets in creating for event in tickets])
    time.sleep(max(0.0, (first_due - time.time_ns()) / S - 0.1))

    watch = Watch(second)
    watch.start()
    try:
        broker.kill()  # 0.1 s before the breaches are due, as the last tickets come in
        killed, killed_ns = time.monotonic(), time.time_ns()
        time.sleep(1.0)  # the breaches are detected into the outbox, which cannot write them
        first.kill(signal.SIGKILL)  # ... and are gone with this worker
        broker.start()  # log recovery after an unclean shutdown
        up = time.monotonic()
        wait_until(lambda: recovered_partitions(second) == [0, 1], 60,
                   "the survivor to take over the dead worker's partition")  # fmt: skip
        wait_until(lambda: readiness(second)[0] == 200, 30, "the survivor to be ready")
        back = time.monotonic()
    finally:
        watch.close()
    lost_with_first = {
        record["alert_id"] for record in _log_records(first)
        if record.get("event") == "alert" and parse_rfc3339(record["timestamp"]) > killed_ns
    }  # fmt: skip
    assert lost_with_first, "the dead worker must have had unwritten alerts"
    after = time.time_ns() + S
    stream.publish(wave("rf-c", after, BEFORE))
    agreement = settle_and_compare(stream, _policy(faulty))
    assert lost_with_first <= {alert["id"] for alert in agreement.alert_list}
    report("broker killed mid-flush, then a worker", broker_down_s=round(up - killed, 1),
           takeover_after_up_s=round(back - up, 1), alerts_unwritten_by_dead=len(lost_with_first),
           alerts=agreement.alerts, duplicates=agreement.duplicates,
           restarts_after_a_stuck_recovery=faulty.restarts,
           input_gaps_reread=second.metric("slamon_input_gaps_total", outcome="reread"),
           **watch.facts())  # fmt: skip


def test_sigkill_during_a_slow_rebalance_loses_no_alert(
    faulty: Deployment, broker: FreshBroker
) -> None:
    """Two workers; the broker hangs 4 s and one worker is SIGKILLed meanwhile."""
    faulty.partitions = 4
    first = faulty.worker(0).start()
    second = faulty.worker(1).start()
    wait_until(lambda: len(recovered_partitions(first)) == len(recovered_partitions(second)) == 2,
               30, "the two workers to split the partitions")  # fmt: skip
    stream = Stream(faulty)
    start = time.time_ns() + S
    fault_at = start + 3 * S
    stream.publish(wave("kl-a", start, BEFORE, copies=3) + wave("kl-b", fault_at + S, DURING))
    time.sleep(max(0.0, (fault_at - time.time_ns()) / S))
    owned = recovered_partitions(first)
    assert first.metric("slamon_events_total", result="processed") > 0, "it must own tickets"

    broker.pause()
    try:
        time.sleep(0.5)
        first.kill(signal.SIGKILL)
        time.sleep(3.5)
    finally:
        broker.resume()
    resumed = time.monotonic()
    # 90 s: a recovery stuck after the hang ends the survivor (20 s), restarted to recover
    wait_until(lambda: len(recovered_partitions(second)) == 4, 90,
               "the survivor to take over every partition")  # fmt: skip
    wait_until(lambda: readiness(second)[0] == 200, 30, "the survivor to be ready")
    took_over = time.monotonic()
    after = time.time_ns() + S
    stream.publish(wave("kl-c", after, BEFORE))
    agreement = settle_and_compare(stream, _policy(faulty))
    report("SIGKILL in a slow rebalance", killed_partitions=owned,
           takeover_after_resume_s=round(took_over - resumed, 1), alerts=agreement.alerts,
           duplicates=agreement.duplicates,
           restarts_after_a_stuck_recovery=faulty.restarts)  # fmt: skip
