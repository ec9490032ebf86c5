"""`slamon tail`: print a topic's records as they arrive.

Kafka clients are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib

import click
import orjson

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.live import kafka_errors
from slamon.cli.options import BROKER, DEFAULT_TOPICS, kafka_security


@click.command("tail")
@click.argument("topic", default=DEFAULT_TOPICS.alerts)
@BROKER
@kafka_security
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record.")
@click.option("--brief", is_flag=True, help="Alerts as one short line each.")
def tail_command(
    topic: str, broker: str, security: KafkaSecurity, from_beginning: bool, brief: bool
) -> None:
    """Print a topic's records as they arrive (the alerts by default), one JSON per line."""
    from slamon.adapters.kafka import follow  # noqa: PLC0415

    async def run() -> None:
        records = follow(broker, topic, from_beginning=from_beginning, security=security)
        async for message in records:
            line = (message.value or b"null").decode("utf-8", "replace")
            click.echo(_brief(line) if brief else line)

    with contextlib.suppress(KeyboardInterrupt), kafka_errors(broker):
        asyncio.run(run())


def _brief(line: str) -> str:
    """An alert CloudEvent as ``at  type  ticket  sla  priority  (+delay)``."""
    try:
        event = orjson.loads(line)
        data = event["data"]
        return (
            f"{data['at']}  {event['type']:<21} {event['subject']:<22} {data['sla']:<15} "
            f"{data['priority']}  detected {data['detected_at']}"
        )
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return line
