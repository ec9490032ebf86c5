"""A live worker's /metrics through the real promtool, and its OpenMetrics exemplars."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request

import pytest

from tests.integration.harness import Deployment, answered_tickets, wait_until

TICKETS = 6


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return path


def test_a_live_scrape_passes_promtool_check_metrics_and_shows_exemplars(
    deployment: Deployment,
) -> None:
    """After real traffic, promtool finds nothing to report (help, units, suffixes); asked for
    OpenMetrics, the duration buckets link to a ticket through an exemplar."""
    promtool = _promtool()
    worker = deployment.worker().start()
    deployment.publish(answered_tickets("pm", TICKETS))
    wait_until(lambda: worker.metric("slamon_sla_met_total", sla="first_response") == TICKETS,
               30, "every first response counted as met")  # fmt: skip
    scrape = (worker.get("/metrics") or "").encode()
    checked = subprocess.run([promtool, "check", "metrics"], input=scrape, capture_output=True,
                             timeout=30, check=False)  # fmt: skip
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, b"", b"")
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}/metrics",
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    assert content_type.startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")
    buckets = [line for line in text.splitlines()
               if line.startswith("slamon_first_response_seconds_bucket")]  # fmt: skip
    exemplars = [line.split(" # ", 1)[1] for line in buckets if " # " in line]
    assert len(exemplars) == 1  # all 30 s responses share one bucket: its latest exemplar
    assert exemplars[0].startswith('{ticket_id="pm-')
