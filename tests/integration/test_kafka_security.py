"""The worker and the CLI through a SASL_SSL listener (SCRAM-SHA-512), on a broker of their own.

The broker comes from `deploy/kafka/kafka.sh up-secure` (temporary home, free ports) and
is stopped after the module, also when a test fails.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from slamon.adapters.kafka import KafkaAccessError, read_topic
from tests.integration.harness import Deployment, answered_tickets, wait_until
from tests.integration.secure_broker import SecureBroker, client_env, secure_broker

TICKETS = 8
WRONG = "not-the-password"
REFUSAL_TIMEOUT_S = 30  # a refused login must end a command well within this


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("kafka-secure")) as broker:
        print(f"secure broker up in {broker.started_in_s:.1f}s")  # noqa: T201  (pytest -s)
        yield broker


@pytest.fixture
def deployment(secured: SecureBroker, tmp_path: Path) -> Iterator[Deployment]:
    """Unique app id and topics on the secure broker; its workers are stopped afterwards."""
    deploy = Deployment(secured.bootstrap, tmp_path, partitions=2)
    yield deploy
    for worker in deploy.workers:
        worker.kill(signal.SIGTERM)


def slamon(*args: str, env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slamon.cli", *args], input=stdin.decode(), env=env,
        capture_output=True, text=True, timeout=REFUSAL_TIMEOUT_S, check=False,
    )  # fmt: skip


def assert_one_line_refusal(output: str) -> None:
    """The whole output is one `Error: ...` line about the failed authentication."""
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    assert "authentication failed" in lines[0], output


def test_worker_and_cli_work_through_sasl_ssl_with_scram(
    secured: SecureBroker, deployment: Deployment
) -> None:
    """publish -> worker -> outcomes, every client authenticated; the password never logged.

    The worker gets the password itself (SLAMON_KAFKA_SASL_PASSWORD) and logs at debug
    level; publish reads it from the launcher's password file.
    """
    worker = deployment.worker()
    worker.args += ["--log-level", "debug"]  # the last one wins
    worker.env = client_env(**secured.env(password=secured.password))
    worker.start()

    events = answered_tickets("sec", TICKETS)
    result = slamon("publish", "-", "--events-topic", deployment.topic("events"),
                    "--partitions", "2", env=client_env(**secured.env()),
                    stdin=b"\n".join(events) + b"\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"published {len(events)} records" in result.stderr

    security = secured.security()

    def first_responses() -> set[str]:
        outcomes = asyncio.run(read_topic(secured.bootstrap, deployment.topic("outcomes"),
                                          idle_s=0.5, security=security))  # fmt: skip
        records = [orjson.loads(m.value or b"") for m in outcomes]
        return {r["ticket_id"] for r in records if r["sla"] == "first_response"}

    wait_until(lambda: len(first_responses()) == TICKETS, 60, "a first-response outcome each")
    assert first_responses() == {f"sec-{i}" for i in range(TICKETS)}
    assert worker.metric("slamon_events_total", result="processed") == len(events)

    worker.kill(signal.SIGTERM)
    log = worker.log()
    assert '"level": "debug"' in log or "debug" in log.lower()  # a verbose log was searched
    assert secured.password not in log


def test_a_wrong_password_is_a_one_line_error_for_publish_and_tail(secured: SecureBroker) -> None:
    """A refused login ends `slamon publish` and `slamon tail` at once: exit 1, one line."""
    env = client_env(**secured.env(password=WRONG))
    started = time.monotonic()
    result = slamon("publish", "-", "--events-topic", "refused", env=env, stdin=b"{}\n")
    assert result.returncode == 1, result.stderr
    assert_one_line_refusal(result.stderr)
    assert f"kafka://{secured.bootstrap}" in result.stderr
    assert WRONG not in result.stderr

    result = slamon("tail", "refused", env=env)
    assert result.returncode == 1, result.stderr
    assert_one_line_refusal(result.stderr)
    assert time.monotonic() - started < REFUSAL_TIMEOUT_S


def test_a_wrong_password_stops_the_worker_at_start_up(
    secured: SecureBroker, deployment: Deployment
) -> None:
    """The worker exits non-zero, its last line the reason, no traceback, no password."""
    worker = deployment.worker()
    worker.env = client_env(**secured.env(password=WRONG))
    assert worker.run_to_exit(timeout_s=REFUSAL_TIMEOUT_S) != 0
    log = worker.log()
    assert "Traceback" not in log
    last = log.strip().splitlines()[-1]
    assert last.startswith("Error: worker cannot start: cannot reach Kafka at "), log
    assert "authentication failed" in last
    assert WRONG not in log


def test_read_topic_with_a_wrong_password_raises_an_access_error(secured: SecureBroker) -> None:
    """The library call behind `slamon tail` says why instead of 'unable to bootstrap'."""
    with pytest.raises(KafkaAccessError, match=r"authentication failed .*SCRAM-SHA-512"):
        asyncio.run(read_topic(secured.bootstrap, "refused", security=secured.security(WRONG)))


def test_the_password_is_not_in_the_worker_help(secured: SecureBroker) -> None:
    """`slamon worker --help` with the password in the environment does not show it."""
    result = slamon("worker", "--help", env=client_env(**secured.env(password=secured.password)))
    assert result.returncode == 0, result.stderr
    assert "--kafka-sasl-password" in result.stdout
    assert secured.password not in result.stdout + result.stderr
