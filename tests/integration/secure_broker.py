"""A secured broker of one's own: `kafka.sh up-secure` in a temporary home, on free ports.

SASL_SSL with SCRAM-SHA-512: the launcher generates the CA, the broker certificate and
the client user's password; :class:`SecureBroker` gives a client what it needs (the
``SLAMON_KAFKA_*`` variables, or a :class:`KafkaSecurity`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from slamon.adapters.kafka_security import KafkaSecurity, Secret
from tests.integration.harness import KAFKA_SH, SHARED_JARS, free_port

USER = "slamon"  # the launcher's default SCRAM user
MECHANISM = "SCRAM-SHA-512"
START_TIMEOUT_S = 150


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str  # host:port of the SASL_SSL listener
    home: Path
    started_in_s: float  # how long `up-secure` took (certificates, format, start)

    @property
    def ca_file(self) -> Path:
        return self.home / "tls" / "ca.crt"

    @property
    def password_file(self) -> Path:
        return self.home / f"{USER}.password"

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def env(self, password: str | None = None) -> dict[str, str]:
        """The SLAMON_* settings of a client: the password itself when given, else its file."""
        env = {
            "SLAMON_BROKER": f"kafka://{self.bootstrap}",
            "SLAMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "SLAMON_KAFKA_SASL_MECHANISM": MECHANISM,
            "SLAMON_KAFKA_SASL_USERNAME": USER,
            "SLAMON_KAFKA_SSL_CAFILE": str(self.ca_file),
        }
        if password is None:
            env["SLAMON_KAFKA_SASL_PASSWORD_FILE"] = str(self.password_file)
        else:
            env["SLAMON_KAFKA_SASL_PASSWORD"] = password
        return env

    def security(self, password: str | None = None) -> KafkaSecurity:
        return KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_mechanism=MECHANISM,
            sasl_username=USER,
            sasl_password=Secret(self.password if password is None else password),
            ssl_cafile=self.ca_file,
        )


def client_env(**settings: str) -> dict[str, str]:
    """This process's environment without any SLAMON_* setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLAMON_")}
    return {**env, "PYTHONUNBUFFERED": "1", **settings}


@contextlib.contextmanager
def secure_broker(home: Path) -> Iterator[SecureBroker]:
    """A brand-new SASL_SSL single-node Kafka; stopped afterwards, also on failure."""
    env = {**client_env(), "SLAMON_KAFKA_HOME": str(home), "SLAMON_KAFKA_JARS": str(SHARED_JARS),
           "SLAMON_KAFKA_PORT": str(free_port()), "SLAMON_KAFKA_CONTROLLER_PORT": str(free_port()),
           "SLAMON_KAFKA_HEAP": "-Xms128m -Xmx384m"}  # fmt: skip
    started = time.monotonic()
    try:
        up = subprocess.run(["bash", str(KAFKA_SH), "up-secure"], env=env, capture_output=True,
                            text=True, timeout=START_TIMEOUT_S, check=False)  # fmt: skip
        if up.returncode != 0:
            pytest.fail(f"secure broker did not start:\n{up.stdout}\n{up.stderr}", pytrace=False)
        took = time.monotonic() - started
        yield SecureBroker(f"127.0.0.1:{env['SLAMON_KAFKA_PORT']}", home, took)
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "down-secure"], env=env, capture_output=True,
                       timeout=60, check=False)  # fmt: skip
