"""The worker's log as a log shipper and an on-call rule see it: JSON lines, no false errors."""

from __future__ import annotations

import time

import orjson

from tests.integration.harness import Deployment, created_now, short_policy, wait_until

# Faust's stall check (stream_processing_timeout, 300 s by default) made short: it runs
# every 7 s (2.5 commit intervals) once the worker is this old.
STALL_CHECK_AFTER_S = "4"


def test_a_healthy_worker_logs_json_lines_and_no_stall_error(deployment: Deployment) -> None:
    """Alerts firing, Faust's stall check armed: every line is a JSON object, none an error.

    The ticket table's changelog is never read by a stream; Faust took it for a stalled
    input ("Stream has not started processing TP(...-changelog)") and logged ~100 errors
    a minute. The terminal spinner's escape codes once preceded the first alert's line.
    """
    deployment.policy = short_policy(deployment.tmp)
    worker = deployment.worker()
    worker.env["STREAM_PROCESSING_TIMEOUT"] = STALL_CHECK_AFTER_S
    worker.start()
    deployment.publish(created_now(8, "log", time.time_ns()))
    wait_until(lambda: "sla.breached" in worker.log(), 30, "a breach alert in the log")
    time.sleep(16)  # two stall checks past the timeout, with the changelog behind its end

    lines = [line for line in worker.log().splitlines() if line.strip()]
    records = []
    for line in lines:
        record = orjson.loads(line)  # raises on a line that is not JSON
        assert isinstance(record, dict), line[:120]
        records.append(record)
    errors = [r["event"][:120] for r in records if r.get("level") in ("error", "critical")]
    assert errors == []
    assert any(r["event"] == "alert" and r["type"] == "sla.breached" for r in records)
