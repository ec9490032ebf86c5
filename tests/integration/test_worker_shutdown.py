"""A hung broker is visible in /readyz, and SIGTERM still ends the worker in bounded time."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson

from tests.integration.harness import Deployment, Worker, fresh_broker, wait_until

STOP_BOUND_S = 15.0  # what an orchestrator may count on (the worker's grace is 12 s)


def _readyz(worker: Worker) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/readyz", timeout=5) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_hung_broker_makes_the_worker_unready_and_sigterm_still_stops_it(
    tmp_path: Path,
) -> None:
    """SIGSTOP the broker: /readyz turns 503 naming the silent broker; SIGTERM exits < 15 s."""
    with fresh_broker(tmp_path / "kafka") as broker:
        deployment = Deployment(broker, tmp_path / "run")
        deployment.tmp.mkdir()
        worker = deployment.worker().start()
        try:
            assert _readyz(worker)[0] == 200
            broker.pause()

            def unready() -> bool:
                status, body = _readyz(worker)
                return status == 503 and float(str(body["broker_silent_seconds"])) > 0

            wait_until(unready, 40, "/readyz to report the silent broker")
            assert worker.metric("slamon_broker_silent_seconds") > 0
            assert worker.proc is not None
            started = time.monotonic()
            worker.proc.send_signal(signal.SIGTERM)
            worker.proc.wait(timeout=60)
            took = time.monotonic() - started
        finally:
            worker.kill()
            broker.resume()
    assert took <= STOP_BOUND_S, f"stop took {took:.1f}s"
    lines = [line for line in worker.log().splitlines() if line.strip()]
    not_json = [line[:120] for line in lines if not _is_json_object(line)]
    assert not_json == []  # one JSON object per line, tracebacks included as a field


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False
