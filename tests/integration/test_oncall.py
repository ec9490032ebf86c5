"""On-call delivery end to end: a real worker, a real Alertmanager (Debian's package), a
local webhook receiver. Targets of seconds (``short_policy``: P1 first response 4s, at
risk at 2s; resolution 8s, at risk at 4s), ``--alert-resend 2s``.
"""

from __future__ import annotations

import http.server
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from slamon.adapters.webhook import SIGNATURE_HEADER, verify
from slamon.core.timefmt import NS_PER_S, format_rfc3339, parse_rfc3339
from tests.integration.alertmanager import Alertmanager, alertmanager
from tests.integration.harness import Deployment, Worker, short_policy, wait_until

RESEND_S = 2.0
SECRET = "test-secret"


def event(etype: str, ticket: str, at_ns: int, data: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({
        "specversion": "1.0", "id": f"{ticket}-{etype}-{at_ns}", "source": "/test",
        "type": etype, "subject": ticket, "time": format_rfc3339(at_ns), "data": data,
    })  # fmt: skip


def oncall_worker(deployment: Deployment, *flags: str, index: int = 0) -> Worker:
    worker = deployment.worker(index)
    worker.args += ["--alert-resend", f"{RESEND_S:g}s", *flags]
    return worker


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Alertmanager]:
    with alertmanager(tmp_path / "alertmanager") as started:
        yield started


def first_seen(check: Callable[[], bool], timeout_s: float, what: str) -> int:
    """Poll every 50 ms; the wall-clock ns at which ``check`` first held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return time.time_ns()
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


def starts_at(manager: Alertmanager, ticket: str, name: str, sla: str) -> int:
    [alert] = manager.alerts(ticket_id=ticket, alertname=name, sla=sla)
    return parse_rfc3339(alert["startsAt"])


def test_alerts_appear_on_time_and_resolve(deployment: Deployment, manager: Alertmanager) -> None:
    """A P1 ticket with no further event: SlaAtRisk (2s) then SlaBreached (4s) for first
    response appear in Alertmanager within 2 s of their instants, startsAt = the instant; a
    late ticket.responded (stamped 3.5s) retracts the breach and resolves it; a
    ticket.resolved resolves the rest."""
    deployment.policy = short_policy(deployment.tmp)
    worker = oncall_worker(deployment, "--alertmanager", manager.url).start()
    created = time.time_ns()
    deployment.publish([event("ticket.created", "L-1", created, {"priority": "P1"})])
    fr = ("first_response",)
    risk_seen = first_seen(lambda: ("SlaAtRisk", *fr) in manager.firing(ticket_id="L-1"),
                           15, "SlaAtRisk")  # fmt: skip
    risk_at = created + 2 * NS_PER_S
    assert 0 <= risk_seen - risk_at < 2 * NS_PER_S, worker.log()[-3000:]
    assert abs(starts_at(manager, "L-1", "SlaAtRisk", *fr) - risk_at) < 1_000_000  # ms precision
    breach_seen = first_seen(lambda: ("SlaBreached", *fr) in manager.firing(ticket_id="L-1"),
                             15, "SlaBreached")  # fmt: skip
    breach_at = created + 4 * NS_PER_S
    assert 0 <= breach_seen - breach_at < 2 * NS_PER_S
    assert abs(starts_at(manager, "L-1", "SlaBreached", *fr) - breach_at) < 1_000_000
    assert ("SlaAtRisk", *fr) not in manager.firing(ticket_id="L-1")  # the breach took over
    [page] = manager.alerts(ticket_id="L-1", alertname="SlaBreached", sla="first_response")
    assert page["labels"]["severity"] == "page"
    assert page["annotations"]["summary"].startswith("Ticket L-1 (P1, remote, region none)")

    deployment.publish([event("ticket.responded", "L-1", created + 3_500_000_000)])
    wait_until(lambda: ("SlaBreached", *fr) not in manager.firing(ticket_id="L-1"), 5,
               "the retracted breach to resolve")  # fmt: skip
    wait_until(lambda: ("SlaBreached", "resolution") in manager.firing(ticket_id="L-1"), 15,
               "the resolution breach")  # fmt: skip
    deployment.publish([event("ticket.resolved", "L-1", time.time_ns())])
    wait_until(lambda: manager.firing(ticket_id="L-1") == set(), 5, "every alert to resolve")
    time.sleep(2 * RESEND_S)
    assert manager.firing(ticket_id="L-1") == set()  # resends do not bring anything back


@pytest.mark.faults
def test_alertmanager_restart_and_worker_kill(deployment: Deployment,
                                              manager: Alertmanager) -> None:  # fmt: skip
    """K-1 (breached, still running) fires; K-2's breaches were resolved by ticket.resolved.
    Alertmanager restarted empty: K-1's alerts are back within one resend interval. The worker
    SIGKILLed and restarted (Alertmanager emptied meanwhile): K-1's alerts active again, each
    label set once, K-2's stay resolved."""
    deployment.policy = short_policy(deployment.tmp)
    worker = oncall_worker(deployment, "--alertmanager", manager.url).start()
    old = time.time_ns() - 60 * NS_PER_S
    deployment.publish([event("ticket.created", "K-1", old, {"priority": "P1"}),
                        event("ticket.created", "K-2", old, {"priority": "P1"})])  # fmt: skip
    both = {("SlaBreached", "first_response"), ("SlaBreached", "resolution")}
    wait_until(lambda: manager.firing(ticket_id="K-2") == both, 15, "K-2's breaches")
    deployment.publish([event("ticket.resolved", "K-2", time.time_ns())])
    wait_until(lambda: manager.firing(ticket_id="K-2") == set(), 5, "K-2 to resolve")
    assert manager.firing(ticket_id="K-1") == both

    manager.stop()
    time.sleep(1)
    manager.start()
    assert manager.firing(ticket_id="K-1") == set()
    wait_until(lambda: manager.firing(ticket_id="K-1") == both, RESEND_S + 1,
               "K-1's alerts after an Alertmanager restart")  # fmt: skip
    assert manager.firing(ticket_id="K-2") == set()  # resolved ones are not revived

    worker.kill(signal.SIGKILL)
    manager.stop()
    manager.start()  # empty: whatever is there next came from the restarted worker
    restarted = oncall_worker(deployment, "--alertmanager", manager.url, index=1)
    restarted.args[restarted.args.index("--data-dir") + 1] = str(deployment.tmp / "data-0")
    restarted.start()
    wait_until(lambda: manager.firing(ticket_id="K-1") == both, 20,
               "K-1's alerts from the restarted worker")  # fmt: skip
    time.sleep(2 * RESEND_S)
    alerts = manager.alerts(ticket_id="K-1")
    assert sorted(a["labels"]["sla"] for a in alerts) == ["first_response", "resolution"]
    assert manager.firing(ticket_id="K-2") == set()
    assert restarted.metric("slamon_oncall_active_alerts", alertname="SlaBreached") == 2


class Receiver(http.server.ThreadingHTTPServer):
    """Collects webhook POSTs: (signature valid, body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[bool, list[dict[str, Any]]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for _, batch in self.posts for e in batch]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = verify(SECRET, body, self.headers.get(SIGNATURE_HEADER))
        server = self.server
        assert isinstance(server, Receiver)
        with server.lock:
            server.posts.append((valid, orjson.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def test_webhook_gets_each_change_once_signed(deployment: Deployment) -> None:
    """A P1 ticket at risk, breached, then resolved: the receiver gets each change of each
    alert exactly once (fire, resolve; resends never), every request validly signed."""
    deployment.policy = short_policy(deployment.tmp)
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        worker = oncall_worker(deployment, "--webhook", receiver.url)
        worker.env["SLAMON_WEBHOOK_SECRET"] = SECRET
        worker.start()
        created = time.time_ns()
        deployment.publish([event("ticket.created", "W-1", created, {"priority": "P1"})])
        wait_until(lambda: len(receiver.events()) >= 6, 20, "six changes")  # through 8s
        deployment.publish([event("ticket.resolved", "W-1", time.time_ns())])
        wait_until(lambda: len(receiver.events()) >= 8, 10, "the two resolves")
        time.sleep(2.5 * RESEND_S)  # resends would have come by now
        events = receiver.events()
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert all(valid for valid, _ in receiver.posts)
    changes = sorted((e["data"]["labels"]["alertname"], e["data"]["labels"]["sla"],
                      e["data"]["status"]) for e in events)  # fmt: skip
    assert changes == sorted(
        (name, sla, status) for name in ("SlaAtRisk", "SlaBreached")
        for sla in ("first_response", "resolution") for status in ("firing", "resolved")
    )  # fmt: skip
    assert len({e["id"] for e in events}) == 8
    assert {e["subject"] for e in events} == {"W-1"}


def test_burst_of_5000_breaches_does_not_stall_events(deployment: Deployment,
                                                      manager: Alertmanager) -> None:  # fmt: skip
    """2,500 tickets created a minute ago breach first response and resolution at once
    (5,000 breaches in one second): Alertmanager gets all 5,000 and a ticket created right
    after still gets its at-risk alert within 2 s of its instant."""
    deployment.policy = short_policy(deployment.tmp)
    worker = oncall_worker(deployment, "--alertmanager", manager.url).start()
    old = time.time_ns() - 60 * NS_PER_S
    lines = [event("ticket.created", f"B-{i}", old, {"priority": "P1"}) for i in range(2500)]
    deployment.publish(lines)
    created = time.time_ns()
    deployment.publish([event("ticket.created", "probe", created, {"priority": "P1"})])
    seen = first_seen(lambda: bool(manager.alerts(ticket_id="probe", alertname="SlaAtRisk")),
                      20, "the probe's at-risk alert")  # fmt: skip
    assert seen - (created + 2 * NS_PER_S) < 2 * NS_PER_S
    wait_until(lambda: len(manager.alerts(alertname="SlaBreached")) >= 5000, 60,
               "5,000 breaches in Alertmanager")  # fmt: skip
    assert worker.metric("slamon_oncall_dropped_total") == 0
    assert worker.metric("slamon_oncall_notifications_total", result="failed") == 0


def test_two_workers_split_the_alerts(deployment: Deployment, manager: Alertmanager) -> None:
    """A second worker joins (rebalance): each ticket's alerts are then sent by exactly one
    worker (their active counts add up to the firing set, both non-zero), and Alertmanager
    keeps every alert through the move."""
    deployment.policy = short_policy(deployment.tmp)
    first = oncall_worker(deployment, "--alertmanager", manager.url).start()
    old = time.time_ns() - 60 * NS_PER_S
    deployment.publish([event("ticket.created", f"R-{i}", old, {"priority": "P1"})
                        for i in range(20)])  # fmt: skip
    wait_until(lambda: len(manager.alerts(alertname="SlaBreached")) == 40, 15, "40 breaches")
    second = oncall_worker(deployment, "--alertmanager", manager.url, index=1).start()

    def split() -> bool:
        counts = [w.metric("slamon_oncall_active_alerts", alertname="SlaBreached")
                  for w in (first, second)]  # fmt: skip
        return sum(counts) == 40 and min(counts) > 0

    wait_until(split, 30, "the alerts split between the two workers")
    time.sleep(2 * RESEND_S)
    assert split()
    assert len(manager.alerts(alertname="SlaBreached")) == 40
