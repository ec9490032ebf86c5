"""`slamon tail`: print a topic's records as they arrive.

Kafka clients are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

import click
import orjson

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.kafka import kafka_errors
from slamon.cli.options import BROKER, DEFAULT_TOPICS, kafka_security
from slamon.core.text import clip
from slamon.terminal.records import COLOURS, clock_text, parse_alert, parse_outcome, seconds_text

DEAD_LETTER_HEADER = "slamon_error"  # the reason the worker dead-lettered a record


@click.command("tail")
@click.argument("topic", default=DEFAULT_TOPICS.alerts)
@BROKER
@kafka_security
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record.")
@click.option(
    "--brief",
    is_flag=True,
    help="One short line per alert, outcome or dead letter, under a header; "
    "breaches in red on a terminal.",
)
def tail_command(
    topic: str, broker: str, security: KafkaSecurity, from_beginning: bool, brief: bool
) -> None:
    """Print TOPIC's records as they arrive, one JSON per line (default: slamon.alerts).

    A dead-lettered record prints as its slamon_* headers (the reason in slamon_error)
    and its value as text.
    """
    from slamon.adapters.kafka import follow  # noqa: PLC0415

    lines = BriefLines() if brief else None

    async def run() -> None:
        records = follow(broker, topic, from_beginning=from_beginning, security=security)
        async for message in records:
            headers = dict(message.headers)
            if lines is not None:
                for line in lines.render(message.value, headers):
                    click.echo(line)
            else:
                click.echo(full_line(message.value, headers))
        # follow() only ends on a topic without partitions: one that does not exist
        raise click.ClickException(f"topic {topic} does not exist on {broker}")

    with contextlib.suppress(KeyboardInterrupt), kafka_errors(broker):
        asyncio.run(run())


def full_line(value: bytes | None, headers: dict[str, bytes]) -> str:
    """The record's value as it is, or a dead letter as its reason headers and value."""
    text = (value or b"null").decode("utf-8", "replace")
    if DEAD_LETTER_HEADER not in headers:
        return text
    fields = {k: v for k, v in _text(headers).items() if k.startswith("slamon_")}
    return orjson.dumps({**fields, "value": text}).decode()


class BriefLines:
    """Records as short aligned lines, with a header whenever the kind of record changes."""

    HEADERS: ClassVar[dict[str, str]] = {
        "alert": f"{'at (UTC)':<19}  {'alert':<9}  {'sla':<14}  {'prio':<4}  {'ticket':<24}  delay",
        "outcome": f"{'ticket':<24}  {'sla':<14}  {'prio':<4}  {'status':<14}  elapsed / target",
        "dead letter": f"{'source':<32}  reason  |  record",
    }

    def __init__(self) -> None:
        self.kind: str | None = None

    def render(self, value: bytes | None, headers: dict[str, bytes]) -> list[str]:
        kind, line = self._line(value, headers)
        out = []
        if kind != self.kind and kind in self.HEADERS:
            out.append(click.style(self.HEADERS[kind], bold=True))
        self.kind = kind
        out.append(line)
        return out

    def _line(self, value: bytes | None, headers: dict[str, bytes]) -> tuple[str, str]:
        if DEAD_LETTER_HEADER in headers:
            text = _text(headers)
            topic, partition, offset = (text.get(f"slamon_source_{k}", "?")
                                        for k in ("topic", "partition", "offset"))  # fmt: skip
            source = f"{topic}[{partition}]@{offset}"
            record = clip((value or b"").decode("utf-8", "replace"), 80)
            return "dead letter", f"{source:<32}  {text[DEAD_LETTER_HEADER]}  |  {record}"
        alert = parse_alert(value)
        if alert is not None:
            label = click.style(f"{alert.label:<9}", fg=COLOURS.get(alert.type),
                                bold=alert.label.isupper() or None)  # fmt: skip
            return "alert", (
                f"{clock_text(alert.at)}  {label}  {alert.sla:<14}  {alert.priority:<4}  "
                f"{alert.ticket:<24}  +{seconds_text(alert.delay / 1e9)}"
            )
        outcome = parse_outcome(value)
        if outcome is not None:
            status = click.style(f"{outcome.status:<14}", fg=COLOURS.get(outcome.status))
            return "outcome", (
                f"{outcome.ticket:<24}  {outcome.sla:<14}  {outcome.priority:<4}  {status}  "
                f"{seconds_text(outcome.elapsed_s)} / {seconds_text(outcome.target_s)}"
            )
        return "other", (value or b"null").decode("utf-8", "replace")


def _text(headers: dict[str, bytes]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in headers.items()}
