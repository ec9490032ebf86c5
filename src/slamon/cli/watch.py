"""`slamon watch`: a live terminal board of a running worker (the demo's screen).

Kafka clients and rich are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from slamon.adapters.kafka_security import KafkaSecurity
from slamon.cli.kafka import kafka_errors
from slamon.cli.options import (
    BROKER,
    DEFAULTS,
    duration_option,
    duration_s,
    kafka_security,
    setting,
    topic_option,
)

if TYPE_CHECKING:
    from rich.console import Console

    from slamon.terminal.board import BoardState

Handlers = dict[str, Callable[[bytes | None], None]]  # topic -> what takes its records
METRICS_URL = f"http://127.0.0.1:{DEFAULTS.web_port}/metrics"
PLAIN_EVERY_S = 10.0  # a status line this often when the output is not a terminal
RETRY_TOPIC_S = 2.0  # a topic the worker has not created yet is looked for again


@click.command("watch")
@setting("--metrics-url", default=METRICS_URL, help="The worker's /metrics.")
@BROKER
@kafka_security
@topic_option("alerts", "The alerts listed.")
@topic_option("outcomes", "The outcomes p80 is taken from.")
@click.option("--from-beginning", is_flag=True, help="Read the topics from their oldest record.")
@duration_option("--interval", default="1s", help="Time between two scrapes of /metrics.")
@click.option(
    "--for",
    "run_for",
    default=None,
    callback=lambda ctx, param, value: None if value is None else duration_s(ctx, param, value),
    help="Stop after this long, showing the progress (default: until Ctrl-C).",
)
@click.option(
    "--once",
    is_flag=True,
    help="Read the topics to their end, print the board once and exit (a summary).",
)
def watch_command(
    metrics_url: str,
    broker: str,
    security: KafkaSecurity,
    alerts_topic: str,
    outcomes_topic: str,
    from_beginning: bool,
    interval: float,
    run_for: float | None,
    once: bool,
) -> None:
    """Show a live SLA board of a worker: per priority and SLA, and the latest alerts.

    Open, at risk, breached, met and compliance come from /metrics, p80 against the target
    from the outcomes topic, the latest alerts (with how late each was detected) from the
    alerts topic. On a terminal the board redraws in place; otherwise a status line is
    printed every 10 s.
    """
    from rich.console import Console  # noqa: PLC0415

    from slamon.terminal.board import BoardState, render  # noqa: PLC0415

    console = Console(width=None if sys.stdout.isatty() else 100)
    state = BoardState()
    topics: Handlers = {alerts_topic: state.alert, outcomes_topic: state.outcome}
    with contextlib.suppress(KeyboardInterrupt), kafka_errors(broker):
        if once:
            asyncio.run(_summary(state, metrics_url, broker, security, topics))
            console.print(render(state, metrics_url))
        else:
            run = _Live(state, metrics_url, console, interval, run_for)
            asyncio.run(run.main(broker, security, topics, from_beginning))


def scrape(state: BoardState, url: str) -> bool:
    """One scrape of /metrics into ``state``; False (and the reason kept) if it failed."""
    from slamon.terminal.snapshot import parse_metrics  # noqa: PLC0415

    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (a URL option)
            text = response.read().decode()
        state.scraped(parse_metrics(text, time.monotonic()))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        state.failed(f"cannot read {url}: {getattr(exc, 'reason', exc)}")
        return False
    return True


async def _summary(
    state: BoardState, url: str, broker: str, security: KafkaSecurity, topics: Handlers
) -> None:
    """One scrape, and every record of the topics so far."""
    from slamon.adapters.kafka import read_topic  # noqa: PLC0415

    if not await asyncio.to_thread(scrape, state, url):
        raise click.ClickException(state.problem or url)
    for topic, handle in topics.items():
        for message in await read_topic(broker, topic, idle_s=0.5, security=security):
            handle(message.value)


class _Live:
    """The board redrawn every ``interval`` while the topics are followed."""

    def __init__(self, state: BoardState, url: str, console: Console, interval: float,
                 run_for: float | None) -> None:  # fmt: skip
        self.state, self.url, self.console = state, url, console
        self.interval, self.run_for = interval, run_for
        self.started = time.monotonic()

    def progress(self) -> tuple[float, float] | None:
        return None if self.run_for is None else (time.monotonic() - self.started, self.run_for)

    def over(self) -> bool:
        return self.run_for is not None and time.monotonic() - self.started >= self.run_for

    async def main(
        self, broker: str, security: KafkaSecurity, topics: Handlers, from_beginning: bool
    ) -> None:
        followers = [asyncio.create_task(_follow(broker, security, topic, handle, from_beginning))
                     for topic, handle in topics.items()]  # fmt: skip
        try:
            if self.console.is_terminal:
                await self._redraw(followers)
            else:
                await self._log(followers)
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)

    async def _tick(self, followers: list[asyncio.Task[None]]) -> None:
        for task in followers:  # a Kafka error in a follower ends the watch, with its message
            error = task.exception() if task.done() else None
            if error is not None:
                raise error
        await asyncio.to_thread(scrape, self.state, self.url)

    async def _redraw(self, followers: list[asyncio.Task[None]]) -> None:
        from rich.live import Live  # noqa: PLC0415

        from slamon.terminal.board import render  # noqa: PLC0415

        # transient, as top: the board is cleared when the watch ends
        with Live(console=self.console, auto_refresh=False, transient=True) as live:
            while True:
                await self._tick(followers)
                live.update(render(self.state, self.url, self.progress()), refresh=True)
                if self.over():
                    return
                await asyncio.sleep(self.interval)

    async def _log(self, followers: list[asyncio.Task[None]]) -> None:
        from slamon.terminal.board import status_line  # noqa: PLC0415

        printed = 0.0
        while True:
            await self._tick(followers)
            if time.monotonic() - printed >= PLAIN_EVERY_S or self.over():
                printed = time.monotonic()
                click.echo(status_line(self.state))
            if self.over():
                return
            await asyncio.sleep(self.interval)


async def _follow(
    broker: str, security: KafkaSecurity, topic: str,
    handle: Callable[[bytes | None], None], from_beginning: bool,
) -> None:  # fmt: skip
    """Every record of ``topic`` into ``handle``; waits for the topic if it does not exist."""
    from slamon.adapters.kafka import follow  # noqa: PLC0415

    while True:
        async for message in follow(broker, topic, from_beginning=from_beginning,
                                    security=security):  # fmt: skip
            handle(message.value)
        # follow() ended: no such topic yet; once there, all of it is new
        await asyncio.sleep(RETRY_TOPIC_S)
        from_beginning = True
