"""deploy/alertmanager/alertmanager.yml, checked by the real amtool and a real Alertmanager:
valid, routed by severity (page | ticket), a ticket inhibited while its page fires."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slamon.core.calendars import WeeklyCalendar
from tests.deploy.tools import need
from tests.integration.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
PACKAGE = "prometheus-alertmanager"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("amtool", package=PACKAGE), *args],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_amtool_check_config_accepts_the_config() -> None:
    """`amtool check-config` finds the route, the two inhibit rules (page over ticket, a
    ticket's breach over its at-risk alert) and the five receivers."""
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert " - 2 inhibit rules" in result.stdout
    assert " - 5 receivers" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=SlamonSlaBurnRate", "severity=page", "priority=P1"], "page"),
        (["alertname=SlamonSlaBurnRate", "severity=ticket", "priority=P1"], "ticket"),
        (["alertname=SomethingElse"], "default"),
        # per-ticket alerts from the worker (docs/oncall.md)
        (["alertname=SlaBreached", "severity=page", "priority=P1", "ticket_id=T-1"], "sla-page"),
        (["alertname=SlaBreached", "severity=page", "priority=P2", "ticket_id=T-1"], "sla-page"),
        (["alertname=SlaBreached", "severity=ticket", "priority=P3"], "sla-ticket"),
        (["alertname=SlaAtRisk", "severity=ticket", "priority=P1"], "sla-ticket"),
        (["alertname=SlaAtRisk", "severity=ticket", "priority=P4"], "sla-ticket"),
    ],
)
def test_alerts_are_routed_by_severity(labels: list[str], receiver: str) -> None:
    """A page goes to the page receiver, a ticket to the ticket one, the rest to default."""
    result = amtool("config", "routes", "test", "--config.file", str(CONFIG), *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [receiver]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager with the config, on a free port; stopped afterwards."""
    binary = need("alertmanager", "prometheus-alertmanager", package=PACKAGE)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={CONFIG}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "Alertmanager not ready after 30 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _post(url: str, body: Any) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def _alerts(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as response:
        result: list[dict[str, Any]] = json.load(response)
    return result


def test_a_ticket_is_inhibited_while_the_page_of_the_same_alert_fires(alertmanager: str) -> None:
    """Page and ticket of one alertname and SLA: the ticket is suppressed by the page; the
    ticket of another SLA still notifies."""
    common = {"alertname": "SlamonSlaBurnRate", "priority": "P1"}
    alerts = [
        {"labels": {**common, "sla": "first_response", "severity": "page"}},
        {"labels": {**common, "sla": "first_response", "severity": "ticket"}},
        {"labels": {**common, "sla": "resolution", "severity": "ticket"}},
    ]
    _post(f"{alertmanager}/api/v2/alerts", alerts)
    deadline = time.monotonic() + 20
    while True:
        state = {
            (alert["labels"]["sla"], alert["labels"]["severity"]): alert["status"]
            for alert in _alerts(alertmanager)
        }
        if len(state) == 3 and state[("first_response", "ticket")]["state"] == "suppressed":
            break
        assert time.monotonic() < deadline, f"not inhibited after 20 s: {state}"
        time.sleep(0.2)
    assert state[("first_response", "ticket")]["inhibitedBy"]
    assert state[("first_response", "page")]["state"] == "active"
    assert state[("resolution", "ticket")]["state"] == "active"


def _config() -> dict[str, Any]:
    import yaml  # noqa: PLC0415

    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return loaded


def _ticket_route() -> dict[str, Any]:
    [route] = [r for r in _config()["route"]["routes"]
               if r.get("matchers") == ['alertname=~"SlaBreached|SlaAtRisk"']]  # fmt: skip
    assert isinstance(route, dict)
    return route


def test_per_ticket_alerts_are_grouped_for_a_breach_wave() -> None:
    """Per-ticket alerts group by region, priority and SLA (a wave is a few notifications);
    pages group by ticket_id (one PagerDuty incident per ticket)."""
    route = _ticket_route()
    assert route["group_by"] == ["region", "priority", "sla"]
    page = route["routes"][0]
    assert (page["receiver"], page["group_by"]) == ("sla-page", ["ticket_id"])
    [receiver] = [r for r in _config()["receivers"] if r["name"] == "sla-page"]
    assert receiver["pagerduty_configs"][0]["send_resolved"] is True


def test_p3_p4_notify_in_the_default_policys_office_hours() -> None:
    """P3/P4 per-ticket notifications are active in office hours only, in the time zone and
    opening hours of the default policy's office calendar."""
    from slamon.policies import load_policy_or_default  # noqa: PLC0415

    office = load_policy_or_default(None).calendar("P3")
    assert isinstance(office, WeeklyCalendar)
    route = _ticket_route()["routes"][1]
    assert route["matchers"] == ['priority=~"P3|P4"']
    assert route["active_time_intervals"] == ["office-hours"]
    [interval] = [t for t in _config()["time_intervals"] if t["name"] == "office-hours"]
    [spec] = interval["time_intervals"]
    assert spec["location"] == office.timezone
    assert spec["weekdays"] == ["monday:friday"]
    assert [(t["start_time"], t["end_time"]) for t in spec["times"]] == [
        ("09:00", "12:00"), ("13:00", "18:00")
    ]  # fmt: skip


def test_a_tickets_breach_inhibits_its_at_risk_alert(alertmanager: str) -> None:
    """SlaBreached of (T-1, first_response) suppresses SlaAtRisk of the same pair only; the
    at-risk alert of another ticket still notifies."""
    common = {"sla": "first_response", "priority": "P1", "service": "remote", "region": "eu"}
    alerts = [
        {"labels": {**common, "alertname": "SlaBreached", "ticket_id": "T-1", "severity": "page"}},
        {"labels": {**common, "alertname": "SlaAtRisk", "ticket_id": "T-1", "severity": "ticket"}},
        {"labels": {**common, "alertname": "SlaAtRisk", "ticket_id": "T-2", "severity": "ticket"}},
    ]
    _post(f"{alertmanager}/api/v2/alerts", alerts)
    deadline = time.monotonic() + 20
    while True:
        state = {(a["labels"]["alertname"], a["labels"]["ticket_id"]): a["status"]["state"]
                 for a in _alerts(alertmanager)}  # fmt: skip
        if len(state) == 3 and state[("SlaAtRisk", "T-1")] == "suppressed":
            break
        assert time.monotonic() < deadline, f"not inhibited after 20 s: {state}"
        time.sleep(0.2)
    assert state[("SlaBreached", "T-1")] == "active"
    assert state[("SlaAtRisk", "T-2")] == "active"
