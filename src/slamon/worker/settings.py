"""Worker settings: typed, immutable, and the single source of the worker's defaults.

The CLI takes every option's default from these objects (``WorkerSettings().broker``,
``Topics().alerts``, ...), so a default is written once, here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from slamon.adapters.kafka_security import KafkaSecurity

DATA_DIR_PATTERN = "var/slamon-{web_port}"


def default_store() -> str:
    """RocksDB when its binding is installed (production), else memory."""
    return "rocksdb://" if importlib.util.find_spec("rocksdict") else "memory://"


def default_data_dir(web_port: int) -> Path:
    """One table store per web port, so two workers on one host never share one."""
    return Path(DATA_DIR_PATTERN.format(web_port=web_port))


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
class OncallSettings:
    """Where per-ticket alerts go (docs/oncall.md); no URL: no delivery."""

    alertmanager_urls: tuple[str, ...] = ()  # every one gets every alert
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)  # HMAC-SHA256 key
    resend_s: float = 60.0  # firing alerts re-sent this often; endsAt = now + 4 x this
    board_url: str = "http://127.0.0.1:3000/d/slamon-oncall"  # generatorURL
    queue_size: int = 20_000  # transitions waiting per URL; the oldest dropped beyond


@dataclass(frozen=True)
class WorkerSettings:
    broker: str = "kafka://127.0.0.1:9092"
    app_id: str = "slamon"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    data_dir_override: Path | None = None  # None: default_data_dir(web_port)
    store: str = field(default_factory=default_store)
    partitions: int = 12  # changelog partitions can never change: over-provision
    replication: int = 1  # replicas of each topic the worker creates: 3 on a real cluster
    standbys: int = 1  # standby replicas of the ticket tables (Faust's own default, kept)
    min_insync_replicas: int | None = None  # None: the broker's default
    topics: Topics = field(default_factory=Topics)
    retention_s: float = 3 * 86_400.0  # final tickets stay this long for late events
    session_timeout_s: float = 10.0
    recovery_stall_limit_s: float = 60.0  # unready and no recovery progress: exit, restart
    max_regions: int = 50  # distinct region label values; later ones are counted as "other"
    catch_up: int = 0  # a backlog of at least this many records is read in batches first; 0: off
    catch_up_batch: int = 20_000  # records per catch-up batch (all partitions); one commit each
    log_level: str = "info"
    log_json: bool = True
    security: KafkaSecurity = field(default_factory=KafkaSecurity)  # PLAINTEXT: none
    oncall: OncallSettings = field(default_factory=OncallSettings)

    @property
    def data_dir(self) -> Path:
        """The table store directory: the one given, else ``var/slamon-<web port>``."""
        if self.data_dir_override is not None:
            return self.data_dir_override
        return default_data_dir(self.web_port)
