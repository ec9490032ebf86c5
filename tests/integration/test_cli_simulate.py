"""`slamon simulate` against the broker: it says how far it is while it runs."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.harness import Deployment


def test_simulate_prints_its_progress_every_ten_seconds_and_a_total(
    deployment: Deployment,
) -> None:
    """A 12 s run at 5 tickets/s: one progress line at 10 s on stderr, then the total."""
    done = subprocess.run(
        [sys.executable, "-m", "slamon.cli", "simulate", "--broker", deployment.bootstrap,
         "--events-topic", deployment.topic("events"), "--rate", "5", "--duration", "12s",
         "--seed", "7"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("simulate")]
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("simulate: 10s of 12s, ")
    sent_so_far = int(lines[0].split(", ")[1].split()[0])
    total = int(lines[1].removeprefix("simulated ").split()[0])
    assert 0 < sent_so_far < total
