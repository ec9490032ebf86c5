"""The worker's HTTP surface: loopback by default, and only the pages slamon means to serve."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.integration.harness import Deployment, answered_tickets, wait_until

SERVED = {"/metrics": 200, "/healthz": 200, "/readyz": 200}
# Faust's own pages: table contents (ticket snapshots), routing, graphs, stats, index
NOT_SERVED = ["/", "/table/", "/table/tickets/", "/table/tickets/T-1/", "/router/",
              "/graph/", "/stats/", "/performance/", "/signal/"]  # fmt: skip


def _status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of IPv4/IPv6 sockets listening on ``port`` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_only_metrics_health_and_readiness_answer_on_loopback(deployment: Deployment) -> None:
    """/metrics, /healthz, /readyz answer; Faust's table, router and stats pages are 404."""
    worker = deployment.worker().start()
    assert {path: _status(worker.port, path) for path in SERVED} == SERVED
    assert {path: _status(worker.port, path) for path in NOT_SERVED} == dict.fromkeys(
        NOT_SERVED, 404
    )
    assert _listening_addresses(worker.port) == {"0100007F"}  # 127.0.0.1 only, not 0.0.0.0


def test_a_held_ticket_s_timeline_is_served_and_no_other_ticket(deployment: Deployment) -> None:
    """GET /tickets/<id>/timeline: the ticket's events, clocks and alerts as `slamon explain`
    gives them; a ticket this worker does not hold is a 404 with no data."""
    worker = deployment.worker().start()
    deployment.publish(answered_tickets("tl", 2))
    wait_until(lambda: worker.metric("slamon_events_total", result="processed") == 4,
               30, "both tickets processed")  # fmt: skip
    timeline = json.loads(worker.get("/tickets/tl-0/timeline") or "{}")
    assert timeline["ticket_id"] == "tl-0"
    assert timeline["found"] is True
    assert [e["type"] for e in timeline["events"]] == ["ticket.created", "ticket.responded"]
    first = next(c for c in timeline["clocks"] if c["sla"] == "first_response")
    assert (first["status"], first["elapsed_seconds"]) == ("met", 30.0)
    assert _status(worker.port, "/tickets/nobody/timeline") == 404
