"""`slamon tail` against the broker: brief alert and dead-letter lines, a missing topic."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import click

from slamon.adapters.kafka import producing
from slamon.adapters.kafka_topics import ensure_topics
from slamon.core.decisions import AlertType
from tests.integration.harness import Deployment
from tests.test_cli_tail import DEAD, alert

READ_TIMEOUT_S = 30.0


def tail(deployment: Deployment, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "slamon.cli", "tail", *args, "--broker", deployment.bootstrap],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def first_lines_then_stop(proc: subprocess.Popen[str], count: int) -> list[str]:
    """The first ``count`` lines ``proc`` prints (fails after READ_TIMEOUT_S), then Ctrl-C."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out: list[str] = []
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while len(out) < count:
            out.append(lines.get(timeout=max(0.1, deadline - time.monotonic())).rstrip("\n"))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # never leave it running: the test would hang
            proc.kill()
            proc.wait()
            raise
        finally:
            reader.join(timeout=10)  # before the pipe is closed under it
    return out


def test_tail_brief_shows_alerts_then_dead_letters_with_their_reason(
    deployment: Deployment,
) -> None:
    """Records with a header per kind; the dead letter shows its slamon_error reason."""
    topic = deployment.topic("mixed")

    async def produce() -> None:
        await ensure_topics(deployment.bootstrap, [topic], 1)
        async with producing(deployment.bootstrap) as prod:
            await prod.send_and_wait(topic, alert(AlertType.AT_RISK))
            await prod.send_and_wait(topic, alert(AlertType.BREACHED))
            await prod.send_and_wait(topic, b"{not json", headers=list(DEAD.items()))

    asyncio.run(produce())
    with tail(deployment, topic, "--brief", "--from-beginning") as proc:
        lines = [click.unstyle(line) for line in first_lines_then_stop(proc, 5)]
    assert lines[0].startswith("at (UTC)")
    assert "at risk" in lines[1]
    assert "BREACHED" in lines[2]
    assert lines[3].startswith("source")
    assert "not valid JSON  |  {not json" in lines[4]
    assert proc.returncode == 0  # Ctrl-C is the way to stop it


def test_tail_on_a_missing_topic_says_so_and_fails(deployment: Deployment) -> None:
    """One line naming the topic and a non-zero exit, instead of exiting 0 silently."""
    topic = deployment.topic("nowhere")
    with tail(deployment, topic) as proc:
        _out, err = proc.communicate(timeout=READ_TIMEOUT_S)
    assert proc.returncode == 1
    assert err == f"Error: topic {topic} does not exist on {deployment.bootstrap}\n"
