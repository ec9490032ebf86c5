"""`slamon watch` against the broker, with a stand-in for the worker's /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator

from slamon.adapters.kafka import producing
from slamon.adapters.kafka_topics import ensure_topics
from tests.integration.harness import Deployment, free_port
from tests.terminal.test_board import worker_metrics


@contextlib.contextmanager
def metrics_server(text: str) -> Iterator[str]:
    """An HTTP server answering ``text`` on /metrics; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def watch(deployment: Deployment, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slamon.cli", "watch", "--broker", deployment.bootstrap,
         "--metrics-url", url, "--alerts-topic", deployment.topic("alerts"),
         "--outcomes-topic", deployment.topic("outcomes"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_watch_once_prints_the_board_with_the_alerts_of_the_topic(
    deployment: Deployment,
) -> None:
    """--once: /metrics counts and the alerts topic's records, as a plain table."""
    text, alerts = worker_metrics()

    async def produce() -> None:
        topics = [deployment.topic("alerts"), deployment.topic("outcomes")]
        await ensure_topics(deployment.bootstrap, topics, 1)
        async with producing(deployment.bootstrap) as prod:
            for record in alerts:
                await prod.send_and_wait(topics[0], record)

    asyncio.run(produce())
    with metrics_server(text) as url:
        result = watch(deployment, url, "--once")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "\x1b" not in result.stdout  # not a terminal: no styles
    assert any(line.split()[:6] == ["first", "response", "P1", "2", "0", "1"] for line in lines)
    assert any("BREACHED" in line and " B " in line for line in lines)


def test_watch_not_on_a_terminal_prints_status_lines(deployment: Deployment) -> None:
    """Piped (CI, a file): a plain status line instead of a redrawn board; --for ends it."""
    text, _ = worker_metrics()
    with metrics_server(text) as url:
        result = watch(deployment, url, "--for", "1s")
    assert result.returncode == 0, result.stderr
    assert "input 4 records" in result.stdout
    assert "breached 1 (first_response 1" in result.stdout


def test_watch_once_without_a_worker_is_one_line_and_fails(deployment: Deployment) -> None:
    """No /metrics to read: one error line naming the URL, exit code 1, no traceback."""
    url = f"http://127.0.0.1:{free_port()}/metrics"
    result = watch(deployment, url, "--once")
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: cannot read {url}: ")
    assert len(result.stderr.splitlines()) == 1
