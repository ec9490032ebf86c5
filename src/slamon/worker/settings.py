"""Worker settings: one typed, immutable object, filled from CLI flags or SLAMON_* env vars."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path


def default_store() -> str:
    """RocksDB when its binding is installed (production), else memory."""
    return "rocksdb://" if importlib.util.find_spec("rocksdict") else "memory://"


@dataclass(frozen=True)
class Topics:
    events: str = "slamon.ticket-events"
    alerts: str = "slamon.alerts"
    outcomes: str = "slamon.outcomes"
    dead_letter: str = "slamon.dead-letter"

    def ticks(self, app_id: str) -> str:
        """Internal: the worker's own 'persist/expire this ticket' commands."""
        return f"{app_id}-ticks"


@dataclass(frozen=True)
class WorkerSettings:
    broker: str = "kafka://127.0.0.1:9092"
    app_id: str = "slamon"
    policy_path: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    data_dir: Path = Path("var/slamon")
    store: str = field(default_factory=default_store)
    partitions: int = 12  # changelog partitions can never change: over-provision
    topics: Topics = field(default_factory=Topics)
    retention_s: float = 3 * 86_400.0  # final tickets stay this long for late events
    session_timeout_s: float = 10.0
    log_level: str = "info"
    log_json: bool = True

    @property
    def broker_host(self) -> str:
        """``host:port`` of the first broker, for plain aiokafka clients."""
        first = self.broker.split(";")[0].split(",")[0]
        return first.removeprefix("kafka://")
