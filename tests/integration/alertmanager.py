"""A real Alertmanager (Debian's prometheus-alertmanager) on a free port, for tests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
# No receiver does anything: the tests read the alerts Alertmanager holds.
CONFIG = """\
route:
  receiver: none
  group_by: [alertname, ticket_id, sla]
receivers:
  - name: none
"""


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Alertmanager:
    """One Alertmanager process: start, stop (and start again on the same port), read."""

    def __init__(self, home: Path) -> None:
        if BINARY is None:
            pytest.fail("prometheus-alertmanager is not installed (.ci/run installs it)")
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        (home / "alertmanager.yml").write_text(CONFIG)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout_s: float = 20.0) -> None:
        assert BINARY is not None
        self.starts += 1
        storage = self.home / f"data-{self.starts}"  # a fresh one: a restart forgets alerts
        log = (self.home / "alertmanager.log").open("ab")
        self.proc = subprocess.Popen(
            [BINARY, f"--config.file={self.home / 'alertmanager.yml'}",
             f"--storage.path={storage}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--cluster.listen-address=", "--log.level=warn"],
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"alertmanager exited with {self.proc.returncode}: {self.log()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"alertmanager not ready within {timeout_s}s: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.home / "alertmanager.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        """Active alerts (GET /api/v2/alerts), those whose labels include ``labels``."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
                alerts: list[dict[str, Any]] = orjson.loads(response.read())
        except (urllib.error.URLError, OSError):
            return []
        return [a for a in alerts
                if all(a["labels"].get(k) == v for k, v in labels.items())]  # fmt: skip

    def firing(self, **labels: str) -> set[tuple[str, str]]:
        """(alertname, sla) of the active alerts whose labels include ``labels``."""
        return {(a["labels"]["alertname"], a["labels"]["sla"]) for a in self.alerts(**labels)}


@contextlib.contextmanager
def alertmanager(home: Path) -> Iterator[Alertmanager]:
    """A started Alertmanager, stopped afterwards whatever happens."""
    manager = Alertmanager(home)
    try:
        manager.start()
        yield manager
    finally:
        manager.stop()
