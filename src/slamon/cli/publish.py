"""`slamon publish`: a JSONL event log onto the input topic.

Kafka clients are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import IO

import click

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.kafka import kafka_errors
from slamon.cli.options import (
    BROKER,
    EVENTS_FILE,
    EVENTS_TOPIC,
    PARTITIONS,
    REPLICATION,
    count_text,
    kafka_security,
    report_invalid,
    source_name,
)


@click.command("publish")
@EVENTS_FILE
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
