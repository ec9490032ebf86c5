"""The boards' and the rules' PromQL on real data: the real Prometheus (Debian's package)
scrapes a real worker fed by `slamon simulate` and `slamon publish`, with the rule files
of deploy/prometheus/rules/ loaded and a real Alertmanager receiving the worker's per-ticket
alerts; every query of every panel, every variable and every rule must parse and return
data. Grafana itself cannot run here; this is what it would ask.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from slamon.adapters.grafana import PER_TICKET_MATCHER, dashboards
from slamon.core.timefmt import NS_PER_S, format_rfc3339
from slamon.policies import load_policy_or_default
from tests.dashboard_lint import expressions, metric_names, substitute
from tests.integration.harness import Deployment, free_port, short_policy, wait_until

pytestmark = pytest.mark.integration  # conftest marks this folder too; said here as well

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"

# Queries that legitimately return nothing in a short, healthy run (board uid, panel, ref).
EMPTY_OK = {
    ("slamon-oncall", "Monitor alerts", "A"): "no alert on slamon itself fires in a healthy run",
    ("slamon-monitor", "Produce retries and dropped outputs", "B"):
        "no output record is dropped while the broker answers",
}  # fmt: skip
# Metric names that may be absent: exported only once something happens.
ABSENT_OK = {
    "slamon_output_records_dropped_total": "a series per topic once a record is dropped",
}
FEED_S = 150  # how long `slamon simulate` runs (the queries run while it still does)
SCRAPED_S = 70  # data Prometheus must hold first: a 1m $__rate_interval needs more than 1m


def _installed(*names: str, package: str) -> str:
    """The first executable of ``names``; skips without it (fails instead when CI=true)."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    reason = f"{names[0]} is not installed (Debian package {package}; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: required in CI")
    pytest.skip(reason)


class Prometheus:
    """The HTTP API of a Prometheus this test started."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # a 400 carries the parse error as JSON
            return json.loads(exc.read())

    def query(self, expr: str) -> Any:
        """POST /api/v1/query (long expressions do not fit a URL comfortably)."""
        body = urllib.parse.urlencode({"query": expr}).encode()
        request = urllib.request.Request(f"{self.base}/api/v1/query", data=body)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    def value(self, expr: str) -> float:
        """The first sample's value of an instant query; 0 when it has none."""
        result = self.query(expr).get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else 0.0

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


@contextlib.contextmanager
def running(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, terminated (then killed) on the way out, failure included."""
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _event(kind: str, ticket: str, at_ns: int, data: dict[str, Any] | None = None,
           number: int = 0) -> bytes:  # fmt: skip
    return orjson.dumps({
        "specversion": "1.0", "id": f"{ticket}-{kind}-{number}", "source": "/grafana-test",
        "type": kind, "subject": ticket, "time": format_rfc3339(at_ns), "data": data,
    })  # fmt: skip


def repaired(prefix: str, now: int) -> list[bytes]:
    """Ten P2 tickets fixed, reopened, fixed again, surveyed and complained about (half
    the complaints resolved), within P2's 10 s."""
    s, lines = NS_PER_S, []
    for i in range(10):
        ticket = f"{prefix}-{i}"
        data = {"priority": "P2", "service": "remote", "region": "south",
                "product_category": ("appliance", "car", "electronics")[i % 3]}  # fmt: skip
        lines += [
            _event("ticket.created", ticket, now - 12 * s, data),
            _event("ticket.responded", ticket, now - 11 * s),
            _event("ticket.resolved", ticket, now - 10 * s, {"first_time_fix": i % 2 == 0}),
            _event("ticket.reopened", ticket, now - 9 * s),
            _event("ticket.resolved", ticket, now - 7 * s, {"first_time_fix": False}, 1),
            _event("ticket.closed", ticket, now - 6 * s),
            _event("survey.submitted", ticket, now - 5 * s, {"score": i + 1}),
            _event("complaint.filed", ticket, now - 4 * s, {"reason": "late"}),
        ]
        if i % 2 == 0:
            lines.append(_event("complaint.resolved", ticket, now - 3 * s))
    return lines


def first_feed(now: int) -> list[bytes]:
    """What the simulator does not produce within a minute: never-answered P1 tickets (a
    burn-rate page), reopens, surveys, invalid lines (dead letters), a duplicate, tickets
    whose late first response (below) retracts their breach."""
    s, lines = NS_PER_S, []
    for i in range(30):  # P1 first response 4 s: 30 breaches within seconds, a fast burn
        service = "onsite" if i % 2 else "remote"
        lines.append(_event("ticket.created", f"never-{i}", now - s,
                            {"priority": "P1", "service": service, "region": "north"}))  # fmt: skip
    lines += repaired("repaired", now)
    lines.append(lines[-1])  # a duplicate
    for i in range(10):  # breached at once (created 20 s ago, P1 first response 4 s)
        lines.append(_event("ticket.created", f"late-{i}", now - 20 * s,
                            {"priority": "P1", "service": "remote", "region": "east"}))  # fmt: skip
    bad = {"specversion": "1.0", "source": "/t", "subject": "X", "time": "2026-11-02T10:00:00Z"}
    lines += [
        b"{not json",
        orjson.dumps({**bad, "id": "bad-1", "type": "ticket.created", "time": "yesterday",
                      "data": {"priority": "P1"}}),
        orjson.dumps({**bad, "id": "bad-2", "type": "ticket.created", "data": {"priority": "P9"}}),
        orjson.dumps({**bad, "id": "bad-3", "type": "ticket.teleported"}),
    ]  # fmt: skip
    return lines


def second_feed(then: int) -> list[bytes]:
    """First responses 2 s after the late tickets' creation, sent after their breach: the
    breaches are retracted. More repairs: a series born with its first value shows no
    increase(), so reopens and surveys must also come once their series exist."""
    late = [_event("ticket.responded", f"late-{i}", then - 18 * NS_PER_S) for i in range(10)]
    return late + repaired("repaired-again", time.time_ns())


def publish(deployment: Deployment, lines: list[bytes], tmp: Path, name: str) -> None:
    path = tmp / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    done = subprocess.run(
        [sys.executable, "-m", "slamon.cli", "publish", str(path), "--broker",
         deployment.bootstrap, "--events-topic", deployment.topic("events"),
         "--partitions", str(deployment.partitions)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def rules(copy_to: Path) -> tuple[list[Path], list[tuple[str, str, str]]]:
    """The rule files of deploy/prometheus/rules/ copied to ``copy_to`` with every group
    evaluated at the global interval (1 s: a 5m group would not have run yet; the rules
    themselves unchanged), and (kind, name, expression) of every rule."""
    copy_to.mkdir()
    files, found = [], []
    for path in sorted(RULES_DIR.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in document["groups"]:
            group.pop("interval", None)
            for rule in group["rules"]:
                kind = "record" if "record" in rule else "alert"
                found.append((kind, rule[kind], rule["expr"]))
        files.append(copy_to / path.name)
        files[-1].write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return files, found


def _has_value(result: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(float(sample["value"][1])) for sample in result)


def test_every_panel_variable_and_rule_query_returns_data(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Prometheus with the committed rules scrapes a worker fed by the simulator and a log
    with every kind of event; then each board query (variables substituted), each
    label_values variable and each rule is run through the HTTP API: each parses, and
    returns data with a value (alert rules: every series they read exists), but for the
    few listed in EMPTY_OK / ABSENT_OK."""
    prometheus_bin = _installed("prometheus", package="prometheus")
    alertmanager_bin = _installed("prometheus-alertmanager", "alertmanager",
                                  package="prometheus-alertmanager")  # fmt: skip
    rule_files, rule_list = rules(tmp_path / "rules")
    assert rule_list, "no rule files in deploy/prometheus/rules"
    deployment.policy = short_policy(tmp_path)
    am_port = free_port()
    am_address = f"127.0.0.1:{am_port}"
    am_config = {"route": {"receiver": "nowhere"}, "receivers": [{"name": "nowhere"}]}
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(am_config), encoding="utf-8")
    alertmanager_args = [
        alertmanager_bin, f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        "--log.level=warn",
    ]  # fmt: skip
    worker = deployment.worker()
    worker.args += ["--alertmanager", f"http://127.0.0.1:{am_port}"]  # on-call delivery
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am_address]}]}]},
        "scrape_configs": [{"job_name": "slamon", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [f"127.0.0.1:{worker.port}"]}]}],
    }  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    prometheus_args = [
        prometheus_bin, f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
        "--enable-feature=exemplar-storage", "--log.level=warn",
    ]  # fmt: skip
    simulate_args = [
        sys.executable, "-m", "slamon.cli", "simulate", "--policy", str(deployment.policy),
        "--broker", deployment.bootstrap, "--events-topic", deployment.topic("events"),
        "--rate", "4", "--duration", f"{FEED_S}s", "--seed", "11",
    ]  # fmt: skip
    prom = Prometheus(port)
    alertmanager = Prometheus(am_port)  # the same /-/ready and JSON API shape
    with contextlib.ExitStack() as stack:  # each stopped on the way out, failure included
        stack.enter_context(running(alertmanager_args, tmp_path / "alertmanager.log"))
        wait_until(alertmanager.ready, 30, "Alertmanager ready")
        worker.start()  # before the simulator: the worker creates the topics
        stack.enter_context(running(prometheus_args, tmp_path / "prometheus.log"))
        simulator = stack.enter_context(running(simulate_args, tmp_path / "simulate.log"))
        wait_until(prom.ready, 30, "Prometheus ready")
        started = time.time_ns()
        publish(deployment, first_feed(started), tmp_path, "first.jsonl")
        wait_until(lambda: worker.metric("slamon_sla_breaches_total", priority="P1") >= 40,
                   60, "the fed tickets' breaches")  # fmt: skip
        born = " and ".join(f"count({name})" for name in (
            "slamon_csat_score_count", "slamon_reopens_total", "slamon_complaints_total",
            "slamon_csat_category_score_count"))  # fmt: skip
        wait_until(lambda: prom.value(born) > 0, 30, "the survey, reopen, complaint series")
        publish(deployment, second_feed(started), tmp_path, "second.jsonl")

        wanted = {  # what must be in Prometheus first: (query, at least)
            "SLAs met": ("sum(slamon_sla_met_total)", 1),
            "breaches": ("sum(slamon_sla_breaches_total)", 1),
            "retractions": ("sum(slamon_sla_breach_retractions_total)", 1),
            "at-risk alerts": ('sum(slamon_alerts_total{type="sla.at_risk"})', 1),
            "both feeds' reopens": ("sum(slamon_reopens_total)", 20),
            "both feeds' surveys": ("sum(slamon_csat_score_count)", 20),
            "both feeds' complaints": ('sum(slamon_complaints_total{event="filed"})', 20),
            "surveys by category": ("sum(slamon_csat_category_score_count)", 20),
            "dead letters": ("sum(slamon_dead_letters_total)", 1),
            "duplicates": ('sum(slamon_events_total{result="duplicate"})', 1),
            "a burn-rate alert": ('count(ALERTS{alertname="SlaErrorBudgetBurn"})', 1),
            "on-call deliveries": ('sum(slamon_oncall_notifications_total{result="sent"})', 1),
            "scrapes": ('count_over_time(up{job="slamon"}[5m])', SCRAPED_S),
        }

        def fed() -> bool:
            assert simulator.poll() is None, "slamon simulate stopped early"
            return all(prom.value(expr) >= least for expr, least in wanted.values())

        wait_until(fed, 120, "data in Prometheus: " + ", ".join(wanted))

        # Every rule loaded and evaluating without error.
        loaded = prom.get("/api/v1/rules")["data"]["groups"]
        health = [(r["name"], r.get("lastError", "")) for g in loaded for r in g["rules"]
                  if r["health"] != "ok"]  # fmt: skip
        assert health == []
        assert sum(len(g["rules"]) for g in loaded) == len(rule_list)

        failures: list[str] = []
        checked = {"panel queries": 0, "variables": 0, "recording rules": 0, "alert rules": 0,
                   "Alertmanager queries": 0}  # fmt: skip
        allowed_empty = []
        boards = dashboards(load_policy_or_default(None))
        for board in boards.values():
            for expression in expressions(board):
                checked["panel queries"] += 1
                key = (expression.board, expression.panel, expression.ref)
                answer = prom.query(substitute(expression.expr))
                if answer.get("status") != "success":
                    failures.append(f"{expression.where}: {answer.get('error')}")
                    continue
                failures.extend(f"{expression.where}: no series {name}"
                                for name in metric_names(expression.expr) - ABSENT_OK.keys()
                                if not prom.query(f"count({name})")["data"]["result"])  # fmt: skip
                if key in EMPTY_OK:
                    allowed_empty.append(expression.where)
                elif not _has_value(answer["data"]["result"]):
                    failures.append(f"{expression.where}: no data ({answer['data']['result']})")
            for variable in board["templating"]["list"]:
                if variable["type"] != "query":
                    continue
                checked["variables"] += 1
                metric, label = variable["definition"][13:-1].split(", ")
                values = prom.get(f"/api/v1/label/{label}/values", **{"match[]": metric})
                if not values.get("data"):
                    failures.append(f"{board['uid']} variable {label}: no values ({values})")
        for kind, name, expr in rule_list:
            checked[f"{'recording' if kind == 'record' else 'alert'} rules"] += 1
            answer = prom.query(expr)
            if answer.get("status") != "success":
                failures.append(f"rule {name}: {answer.get('error')}")
            elif kind == "record" and not answer["data"]["result"]:
                failures.append(f"recording rule {name}: no data")
            elif kind == "alert":  # empty unless firing: every series it reads must exist
                failures.extend(
                    f"alert {name}: no series {metric}"
                    for metric in metric_names(expr)
                    if not prom.query(f"count({metric})")["data"]["result"]
                )
        # The alert-groups panel's source: Alertmanager holds the per-ticket alerts its
        # matcher selects (from the worker) and the burn-rate alerts (from Prometheus).
        for matcher in (PER_TICKET_MATCHER, 'alertname="SlaErrorBudgetBurn"'):
            groups = alertmanager.get("/api/v2/alerts/groups", filter=matcher)
            checked["Alertmanager queries"] += 1
            if not groups:
                failures.append(f"Alertmanager: no alert group for {matcher}")
        print(  # noqa: T201  (the count, shown with -s or on failure)
            f"PromQL checked on real data: {checked}; allowed empty: {allowed_empty}"
        )
        assert failures == [], "\n".join(failures)
        assert checked["panel queries"] >= 50
        assert sorted(allowed_empty) == sorted(" / ".join(key) for key in EMPTY_OK)
