"""`slamon worker | publish | simulate`: the commands that talk to Kafka.

Kafka clients and Faust are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import click
import orjson

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.options import (
    BROKER,
    DEFAULT_TOPICS,
    DEFAULTS,
    EVENTS_TOPIC,
    LOG_LEVELS,
    PARTITIONS,
    POLICY,
    REPLICATION,
    count_text,
    duration_s,
    duration_text,
    kafka_security,
    load_policy,
    report_invalid,
    source_name,
)
from slamon.core.timefmt import NS_PER_S
from slamon.worker.settings import DATA_DIR_PATTERN, OncallSettings, Topics, WorkerSettings


@contextlib.contextmanager
def kafka_errors(broker: str) -> Iterator[None]:
    """Kafka failures as one-line CLI errors (no traceback): unreachable, refused login."""
    from aiokafka.errors import KafkaError  # noqa: PLC0415

    from slamon.adapters.kafka import KafkaAccessError  # noqa: PLC0415
    from slamon.adapters.kafka_topics import TopicError  # noqa: PLC0415

    try:
        yield
    except KafkaAccessError as exc:
        raise click.ClickException(f"cannot reach Kafka at {broker}: {exc}") from None
    except (KafkaError, TopicError) as exc:
        raise click.ClickException(f"Kafka at {broker}: {exc}") from None


@click.command("worker")
@POLICY
@BROKER
@kafka_security
@click.option(
    "--app-id",
    default=DEFAULTS.app_id,
    show_default=True,
    envvar="SLAMON_APP_ID",
    help="Consumer group and prefix of internal topics.",
)
@click.option(
    "--web-host",
    default=DEFAULTS.web_host,
    show_default=True,
    envvar="SLAMON_WEB_HOST",
    help="Address of the web server (/metrics and the live board).",
)
@click.option(
    "--web-port",
    type=int,
    default=DEFAULTS.web_port,
    show_default=True,
    envvar="SLAMON_WEB_PORT",
    help="Port of the web server.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="SLAMON_DATA_DIR",
    help=f"Table store directory (default: {DATA_DIR_PATTERN.format(web_port='<web port>')}).",
)
@click.option(
    "--store",
    default=DEFAULTS.store,
    show_default=True,
    envvar="SLAMON_STORE",
    help="Table store URL: rocksdb:// (the default when rocksdict is installed) or memory://.",
)
@PARTITIONS
@REPLICATION
@click.option(
    "--min-insync-replicas",
    type=click.IntRange(min=1),
    default=DEFAULTS.min_insync_replicas,
    envvar="SLAMON_MIN_INSYNC_REPLICAS",
    help="min.insync.replicas of each topic it creates (default: the broker's).",
)
@click.option(
    "--standbys",
    type=click.IntRange(min=0),
    default=DEFAULTS.standbys,
    show_default=True,
    envvar="SLAMON_STANDBYS",
    help="Standby replicas of the ticket table: other workers keep a warm copy of each "
    "partition (useful with a persistent --store; 0: none).",
)
@EVENTS_TOPIC
@click.option(
    "--alerts-topic",
    default=DEFAULT_TOPICS.alerts,
    show_default=True,
    envvar="SLAMON_ALERTS_TOPIC",
    help="Output topic of alerts (CloudEvents).",
)
@click.option(
    "--outcomes-topic",
    default=DEFAULT_TOPICS.outcomes,
    show_default=True,
    envvar="SLAMON_OUTCOMES_TOPIC",
    help="Output topic of final SLA outcomes.",
)
@click.option(
    "--dead-letter-topic",
    default=DEFAULT_TOPICS.dead_letter,
    show_default=True,
    envvar="SLAMON_DEAD_LETTER_TOPIC",
    help="Where input records that cannot be processed go, with the reason.",
)
@click.option(
    "--retention",
    default=duration_text(DEFAULTS.retention_s),
    show_default=True,
    callback=duration_s,
    envvar="SLAMON_RETENTION",
    help="How long final tickets stay for late events.",
)
@click.option(
    "--session-timeout",
    default=duration_text(DEFAULTS.session_timeout_s),
    show_default=True,
    callback=duration_s,
    envvar="SLAMON_SESSION_TIMEOUT",
    help="Kafka consumer session timeout.",
)
@click.option(
    "--max-regions",
    type=click.IntRange(min=1),
    default=DEFAULTS.max_regions,
    show_default=True,
    envvar="SLAMON_MAX_REGIONS",
    help="Distinct region label values on /metrics; later regions are counted as 'other'.",
)
@click.option(
    "--alertmanager",
    "alertmanager_urls",
    multiple=True,
    callback=lambda _c, _p, v: _urls(v, "--alertmanager"),
    envvar="SLAMON_ALERTMANAGER_URLS",
    help="Alertmanager base URL for per-ticket alerts (repeatable; env: comma-separated). "
    "Every URL gets every alert: list each replica, no load balancer.",
)
@click.option(
    "--webhook",
    "webhook_urls",
    multiple=True,
    callback=lambda _c, _p, v: _urls(v, "--webhook"),
    envvar="SLAMON_WEBHOOK_URLS",
    help="URL that gets each alert change as a signed JSON POST (repeatable; env: "
    "comma-separated). The secret: SLAMON_WEBHOOK_SECRET or --webhook-secret-file.",
)
@click.option(
    "--webhook-secret-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    envvar="SLAMON_WEBHOOK_SECRET_FILE",
    help="File holding the webhook HMAC-SHA256 secret (whitespace around it stripped).",
)
@click.option(
    "--alert-resend",
    default=duration_text(DEFAULTS.oncall.resend_s),
    show_default=True,
    callback=duration_s,
    envvar="SLAMON_ALERT_RESEND",
    help="Re-send firing alerts this often (endsAt = now + 4 x this).",
)
@click.option(
    "--board-url",
    default=DEFAULTS.oncall.board_url,
    show_default=True,
    envvar="SLAMON_BOARD_URL",
    help="The on-call board, the generatorURL of every alert.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=DEFAULTS.log_level,
    show_default=True,
    envvar="SLAMON_LOG_LEVEL",
    help="The least severe records logged (at-risk alerts are debug).",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json" if DEFAULTS.log_json else "console",
    show_default=True,
    envvar="SLAMON_LOG_FORMAT",
    help="JSON lines for log shippers, or console for people.",
)
def worker_command(
    policy_path: str | None,
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
    events_topic: str,
    alerts_topic: str,
    outcomes_topic: str,
    dead_letter_topic: str,
    retention: float,
    session_timeout: float,
    max_regions: int,
    alertmanager_urls: tuple[str, ...],
    webhook_urls: tuple[str, ...],
    webhook_secret_file: Path | None,
    alert_resend: float,
    board_url: str,
    log_level: str,
    log_format: str,
) -> None:
    """Run the SLA worker: consume ticket events, alert on deadlines, serve /metrics.

    Every option also reads its SLAMON_* environment variable, e.g. SLAMON_BROKER.
    """
    from slamon.bootstrap import StartupError, run_worker  # noqa: PLC0415

    policy = load_policy(policy_path)
    settings = WorkerSettings(
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
        topics=Topics(events_topic, alerts_topic, outcomes_topic, dead_letter_topic),
        retention_s=retention,
        session_timeout_s=session_timeout,
        max_regions=max_regions,
        log_level=log_level,
        log_json=log_format == "json",
        security=security,
        oncall=_oncall_settings(
            alertmanager_urls, webhook_urls, webhook_secret_file, alert_resend, board_url
        ),
    )
    try:
        run_worker(settings, policy)
    except StartupError as exc:
        raise click.ClickException(f"worker cannot start: {exc}") from None


def _urls(values: tuple[str, ...], option: str) -> tuple[str, ...]:
    """Repeated options and comma-separated env values as one tuple of http(s) URLs."""
    urls = tuple(url.strip() for value in values for url in value.split(",") if url.strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{url!r} is not an http:// or https:// URL",
                                     param_hint=option)  # fmt: skip
    return urls


def _oncall_settings(
    alertmanager_urls: tuple[str, ...], webhook_urls: tuple[str, ...],
    secret_file: Path | None, resend_s: float, board_url: str,
) -> OncallSettings:  # fmt: skip
    secret = os.environ.get("SLAMON_WEBHOOK_SECRET") or None
    if secret_file is not None:
        if secret is not None:
            raise click.UsageError("give SLAMON_WEBHOOK_SECRET or --webhook-secret-file, "
                                   "not both")  # fmt: skip
        secret = secret_file.read_text().strip() or None
    return OncallSettings(
        alertmanager_urls=alertmanager_urls, webhook_urls=webhook_urls,
        webhook_secret=secret, resend_s=resend_s, board_url=board_url,
    )  # fmt: skip


@click.command("publish")
@click.argument("events", type=click.File("rb"))
@BROKER
@kafka_security
@EVENTS_TOPIC
@PARTITIONS
@REPLICATION
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Events per second (0: as fast as possible).",
)
@click.option(
    "--validate",
    is_flag=True,
    help="Check every line as the worker will before sending; if any is invalid, list "
    "them (file:line: reason) and send nothing.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Check every line as --validate does, list the invalid ones and send the others.",
)
def publish_command(
    events: IO[bytes],
    broker: str,
    security: KafkaSecurity,
    events_topic: str,
    partitions: int,
    replication: int,
    rate: float,
    validate: bool,
    skip_invalid: bool,
) -> None:
    """Publish a JSONL event log to the input topic, keyed by ticket id.

    Lines go as they are; without --validate an invalid one reaches the worker's
    dead-letter topic.
    """
    from slamon.adapters.kafka import publish_lines  # noqa: PLC0415
    from slamon.adapters.kafka_topics import ensure_topics  # noqa: PLC0415

    lines: Iterable[bytes] = events
    skipped = ""
    if validate or skip_invalid:
        lines, invalid = _checked_lines(events)
        report_invalid(source_name(events), invalid)
        if invalid and not skip_invalid:
            raise click.ClickException(
                f"{count_text(len(invalid), 'invalid line')} in {source_name(events)}: "
                f"nothing sent (--skip-invalid sends the {len(lines)} valid ones)"
            )
        skipped = f", {count_text(len(invalid), 'invalid line')} skipped" if invalid else ""
    started = time.monotonic()
    with kafka_errors(broker):
        # created as the worker would create it, rather than by broker auto-creation
        asyncio.run(ensure_topics(broker, [events_topic], partitions, replication,
                                  security=security))  # fmt: skip
        sent = asyncio.run(publish_lines(broker, events_topic, lines, rate, security=security))
    took = time.monotonic() - started
    click.echo(f"published {sent} records to {events_topic} in {took:.1f}s{skipped}", err=True)


def _checked_lines(events: IO[bytes]) -> tuple[list[bytes], list[tuple[int, str]]]:
    """The non-blank lines the worker would accept, and (line number, reason) of the others.

    Each line is decoded as the record publish makes of it (key = its subject), by the
    worker's own decoder.
    """
    from slamon.adapters.cloudevents import decode_record  # noqa: PLC0415
    from slamon.adapters.kafka import key_of  # noqa: PLC0415
    from slamon.core.events import InvalidEvent  # noqa: PLC0415

    valid, invalid = [], []
    for lineno, raw in enumerate(events, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            decode_record(key_of(line), line, (), lineno)
        except InvalidEvent as exc:
            invalid.append((lineno, str(exc)))
        else:
            valid.append(line)
    return valid, invalid


PROGRESS_EVERY_NS = 10 * NS_PER_S


def _progress(sent: int, elapsed_ns: int, duration_s: float) -> None:
    """One progress line on stderr: where the run is and what it has sent."""
    elapsed_s = elapsed_ns / NS_PER_S
    where = f"{duration_text(round(elapsed_s))} of {duration_text(duration_s)}"
    click.echo(f"simulate: {where}, {sent} events ({sent / elapsed_s:.1f}/s)", err=True)


@click.command("simulate")
@POLICY
@BROKER
@kafka_security
@EVENTS_TOPIC
@click.option(
    "--rate",
    type=click.FloatRange(min=0.01),
    default=2.0,
    show_default=True,
    help="New tickets per second.",
)
@click.option(
    "--duration",
    default="10m",
    show_default=True,
    callback=duration_s,
    help="Stop after this long.",
)
@click.option("--seed", type=int, default=None, help="Random seed (default: time based).")
def simulate_command(
    policy_path: str | None,
    broker: str,
    security: KafkaSecurity,
    events_topic: str,
    rate: float,
    duration: float,
    seed: int | None,
) -> None:
    """Publish live, realistic ticket traffic around the policy's targets (the demo source)."""
    from slamon.adapters.kafka import producing  # noqa: PLC0415
    from slamon.simulate import live_traffic  # noqa: PLC0415

    policy = load_policy(policy_path)

    async def run() -> int:
        sent = 0
        started = time.time_ns()
        deadline = started + int(duration * NS_PER_S)
        report_at = started + PROGRESS_EVERY_NS
        async with producing(broker, security=security) as prod:
            stream = live_traffic(policy, rate, seed=seed, now=started, until=deadline)
            for due, record in stream:
                wait = (due - time.time_ns()) / NS_PER_S
                if wait > 0:
                    await asyncio.sleep(wait)
                await prod.send(
                    events_topic, value=orjson.dumps(record), key=str(record["subject"]).encode()
                )
                sent += 1
                if due >= report_at:
                    report_at += PROGRESS_EVERY_NS
                    _progress(sent, due - started, duration)
        return sent

    try:
        with kafka_errors(broker):
            sent = asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(f"simulated {sent} events", err=True)
