"""`slamon simulate`: live ticket traffic onto the input topic (the demo source).

Kafka clients are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import sys
import time

import click
import orjson

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.kafka import kafka_errors
from slamon.cli.options import (
    BROKER,
    EVENTS_TOPIC,
    POLICY,
    duration_option,
    duration_text,
    kafka_security,
    load_policy,
)
from slamon.core.timefmt import NS_PER_S

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
@duration_option("--duration", default="10m", help="Stop after this long.")
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
