"""`slamon worker`: the SLA worker, its options the fields of WorkerSettings.

Faust is imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.options import (
    BROKER,
    DEFAULTS,
    EVENTS_TOPIC,
    LOG_LEVELS,
    PARTITIONS,
    POLICY,
    REPLICATION,
    Command,
    collected,
    duration_setting,
    env_var,
    kafka_security,
    load_policy,
    setting,
    topic_option,
)
from slamon.core.policy import SlaPolicy
from slamon.worker.settings import DATA_DIR_PATTERN, OncallSettings, Topics, WorkerSettings


def _urls(_ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated options and comma-separated env values as one tuple of http(s) URLs."""
    urls = tuple(url.strip() for value in values for url in value.split(",") if url.strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{url!r} is not an http:// or https:// URL",
                                     param_hint=param.opts[0])  # fmt: skip
    return urls


def _url_list(flag: str, help_text: str) -> Callable[[Command], Command]:
    """A repeatable URL option, given as ``<flag>_urls``; its SLAMON_<FLAG>_URLS variable
    holds them comma-separated."""
    name = flag.lstrip("-") + "_urls"
    return setting(flag, name, multiple=True, callback=_urls, envvar=f"{env_var(flag)}_URLS",
                   help=help_text)  # fmt: skip


def _policy(policy_path: str | None) -> SlaPolicy:
    return load_policy(policy_path)


def _topics(events_topic: str, alerts_topic: str, outcomes_topic: str,
            dead_letter_topic: str) -> Topics:  # fmt: skip
    return Topics(events_topic, alerts_topic, outcomes_topic, dead_letter_topic)


def _oncall(
    alertmanager_urls: tuple[str, ...], webhook_urls: tuple[str, ...],
    webhook_secret_file: Path | None, alert_resend: float, board_url: str,
) -> OncallSettings:  # fmt: skip
    secret = os.environ.get("SLAMON_WEBHOOK_SECRET") or None
    if webhook_secret_file is not None:
        if secret is not None:
            raise click.UsageError("give SLAMON_WEBHOOK_SECRET or --webhook-secret-file, "
                                   "not both")  # fmt: skip
        secret = webhook_secret_file.read_text().strip() or None
    return OncallSettings(
        alertmanager_urls=alertmanager_urls, webhook_urls=webhook_urls,
        webhook_secret=secret, resend_s=alert_resend, board_url=board_url,
    )  # fmt: skip


def _settings(
    broker: str,
    security: KafkaSecurity,
    app_id: str,
    web_host: str,
    web_port: int,
    data_dir: Path | None,
    store: str,
    partitions: int,
    replication: int,
    min_insync_replicas: int | None,
    standbys: int,
    topics: Topics,
    retention: float,
    session_timeout: float,
    recovery_stall_limit: float,
    max_regions: int,
    catch_up: int,
    catch_up_batch: int,
    oncall: OncallSettings,
    log_level: str,
    log_format: str,
) -> WorkerSettings:
    return WorkerSettings(
        broker=broker,
        app_id=app_id,
        web_host=web_host,
        web_port=web_port,
        data_dir_override=data_dir,
        store=store,
        partitions=partitions,
        replication=replication,
        min_insync_replicas=min_insync_replicas,
        standbys=standbys,
        topics=topics,
        retention_s=retention,
        session_timeout_s=session_timeout,
        recovery_stall_limit_s=recovery_stall_limit,
        max_regions=max_regions,
        catch_up=catch_up,
        catch_up_batch=catch_up_batch,
        log_level=log_level,
        log_json=log_format == "json",
        security=security,
        oncall=oncall,
    )


@click.command("worker")
@POLICY
@BROKER
@kafka_security
@setting("--app-id", default=DEFAULTS.app_id, help="Consumer group and prefix of internal topics.")
@setting(
    "--web-host",
    default=DEFAULTS.web_host,
    help="Address of the web server (/metrics and the live board).",
)
@setting("--web-port", type=int, default=DEFAULTS.web_port, help="Port of the web server.")
@setting(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Table store directory (default: {DATA_DIR_PATTERN.format(web_port='<web port>')}).",
)
@setting(
    "--store",
    default=DEFAULTS.store,
    help="Table store URL: rocksdb:// (the default when rocksdict is installed) or memory://.",
)
@PARTITIONS
@REPLICATION
@setting(
    "--min-insync-replicas",
    type=click.IntRange(min=1),
    default=DEFAULTS.min_insync_replicas,
    help="min.insync.replicas of each topic it creates (default: the broker's).",
)
@setting(
    "--standbys",
    type=click.IntRange(min=0),
    default=DEFAULTS.standbys,
    help="Standby replicas of the ticket table: other workers keep a warm copy of each "
    "partition (useful with a persistent --store; 0: none).",
)
@EVENTS_TOPIC
@topic_option("alerts", "Output topic of alerts (CloudEvents).")
@topic_option("outcomes", "Output topic of final SLA outcomes.")
@topic_option("dead_letter", "Where input records that cannot be processed go, with the reason.")
@duration_setting(
    "--retention", DEFAULTS.retention_s, "How long final tickets stay for late events."
)
@duration_setting(
    "--session-timeout", DEFAULTS.session_timeout_s, "Kafka consumer session timeout."
)
@duration_setting(
    "--recovery-stall-limit",
    DEFAULTS.recovery_stall_limit_s,
    "Exit (code 70, for a restart) when unready this long while the broker answers and "
    "the table recovery makes no progress.",
)
@setting(
    "--max-regions",
    type=click.IntRange(min=1),
    default=DEFAULTS.max_regions,
    help="Distinct region label values on /metrics; later regions are counted as 'other'.",
)
@setting(
    "--catch-up",
    type=click.IntRange(min=0),
    default=DEFAULTS.catch_up,
    metavar="RECORDS",
    help="Before joining the consumer group, read an input backlog of at least RECORDS "
    "records in large batches (several times faster; each ticket's batch is evaluated "
    "once). Only while no other worker of the group runs: start the others afterwards. "
    "0: off.",
)
@setting(
    "--catch-up-batch",
    type=click.IntRange(min=1),
    default=DEFAULTS.catch_up_batch,
    metavar="RECORDS",
    help="Records per catch-up batch, all partitions together: its outputs are written, "
    "then its offsets committed.",
)
@_url_list(
    "--alertmanager",
    "Alertmanager base URL for per-ticket alerts (repeatable; env: comma-separated). "
    "Every URL gets every alert: list each replica, no load balancer.",
)
@_url_list(
    "--webhook",
    "URL that gets each alert change as a signed JSON POST (repeatable; env: "
    "comma-separated). The secret: SLAMON_WEBHOOK_SECRET or --webhook-secret-file.",
)
@setting(
    "--webhook-secret-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File holding the webhook HMAC-SHA256 secret (whitespace around it stripped).",
)
@duration_setting(
    "--alert-resend",
    DEFAULTS.oncall.resend_s,
    "Re-send firing alerts this often (endsAt = now + 4 x this).",
)
@setting(
    "--board-url",
    default=DEFAULTS.oncall.board_url,
    help="The on-call board, the generatorURL of every alert.",
)
@setting(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=DEFAULTS.log_level,
    help="The least severe records logged (at-risk alerts are debug).",
)
@setting(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json" if DEFAULTS.log_json else "console",
    help="JSON lines for log shippers, or console for people.",
)
@collected("topics", _topics)
@collected("policy", _policy)  # before _oncall: a bad policy is the error shown first
@collected("oncall", _oncall)
@collected("settings", _settings)
def worker_command(policy: SlaPolicy, settings: WorkerSettings) -> None:
    """Run the SLA worker: consume ticket events, alert on deadlines, serve /metrics.

    Every option also reads its SLAMON_* environment variable, e.g. SLAMON_BROKER.
    """
    from slamon.bootstrap import StartupError, run_worker  # noqa: PLC0415

    try:
        run_worker(settings, policy)
    except StartupError as exc:
        raise click.ClickException(f"worker cannot start: {exc}") from None
