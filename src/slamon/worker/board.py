"""The live board: windowed Faust tables of first-response and on-site arrival times.

Tumbling 1-minute and hopping 1-hour (5-minute step) windows per priority and SLA,
each a count, a sum and a quantile sketch. They feed dashboards only: alerts and
outcomes never depend on them (Faust windows run on the wall clock and close
unreliably across rebalances).

Keys carry the source partition: a Faust table key must always be written from
the same partition, or two workers would own it. Samples are buffered per
partition and written at most every 5 seconds, from a record of that partition
(Faust writes tables only from a stream), so the board costs a few changelog
writes a second, not one per sample.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import faust
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from slamon.core.decisions import Outcome
from slamon.core.sketch import Sketch
from slamon.core.timefmt import NS_PER_S

BOARD_SLAS = ("first_response", "onsite_arrival")
QUANTILES = (0.5, 0.8, 0.95)
# each flush writes every key into 13 windows (1 tumbling + 12 hopping): once a second per
# partition filled Faust's producer buffer under load; a board scraped every 15 s loses nothing
FLUSH_EVERY_NS = 5 * NS_PER_S
EXPIRES = timedelta(minutes=5)  # after a window's end (Faust's expiry counts from the end)


def _merge(current: Any, new: dict[str, Any]) -> dict[str, Any]:
    if not current:
        return new
    sketch = Sketch.from_dict(current)
    sketch.merge(Sketch.from_dict(new))
    return sketch.to_dict()


class LiveBoard:
    """Buffers stopped-SLA samples and folds them into the windowed tables."""

    def __init__(
        self, app: faust.App, partitions: int, clock: Callable[[], int],
        options: dict[str, int] | None = None,
    ) -> None:  # fmt: skip
        """``clock``: the worker's wall clock in integer ns (windows are in float seconds)."""

        # Windows follow the wall clock. Not relative_to_now(): inside an agent Faust's
        # "now" is the partition's latest window timestamp, which a table written only
        # here never advances (every sample would land in the 1970 window).
        def wall_clock(_event: Any) -> float:
            return clock() / NS_PER_S

        # Only the windows containing now are read (``current``): a window expires EXPIRES
        # after its end, not hours later (until then Faust keeps a heap entry and a key-set
        # entry per write, and the changelog's retention follows)
        self.windows = {
            "1m": app.Table("board-1m", default=dict, partitions=partitions, options=options)
            .tumbling(60, expires=EXPIRES)
            .relative_to(wall_clock),  # type: ignore[attr-defined]  # missing from WindowWrapperT
            "1h": app.Table("board-1h", default=dict, partitions=partitions, options=options)
            .hopping(3600, 300, expires=EXPIRES)
            .relative_to(wall_clock),  # type: ignore[attr-defined]
        }
        self.pending: dict[int, dict[str, Sketch]] = {}  # partition -> key -> samples
        self.flushed_at: dict[int, int] = {}
        self.asked: set[int] = set()  # partitions a flush tick was sent for
        self.keys: set[str] = set()

    def add(self, outcome: Outcome, partition: int) -> None:
        if outcome.sla not in BOARD_SLAS or not outcome.measured:
            return
        key = f"{outcome.priority}|{outcome.sla}|{partition}"
        buffer = self.pending.setdefault(partition, {})
        buffer.setdefault(key, Sketch()).add(outcome.elapsed_ns / NS_PER_S)

    def stale(self, now: int) -> list[int]:
        """Partitions whose samples wait for a record that may not come: ask once each."""
        out = [p for p, buffer in self.pending.items()
               if buffer and p not in self.asked
               and now - self.flushed_at.get(p, 0) >= FLUSH_EVERY_NS]  # fmt: skip
        self.asked.update(out)
        return out

    def flush(self, partition: int, now: int) -> None:
        """Write ``partition``'s samples (call while handling a record of that partition)."""
        buffer = self.pending.get(partition)
        if not buffer or now - self.flushed_at.get(partition, 0) < FLUSH_EVERY_NS:
            return
        self.flushed_at[partition] = now
        self.asked.discard(partition)
        for key, sketch in buffer.items():
            for table in self.windows.values():
                table[key].apply(_merge, sketch.to_dict())
            self.keys.add(key)
        buffer.clear()

    def drop(self, partitions: set[int]) -> None:
        for partition in partitions:
            self.pending.pop(partition, None)
        self.keys = {k for k in self.keys if int(k.rsplit("|", 1)[1]) not in partitions}

    def current(self, window: str) -> dict[tuple[str, str], Sketch]:
        """This worker's sketches for the window containing now, by (priority, SLA)."""
        out: dict[tuple[str, str], Sketch] = {}
        table = self.windows[window]
        for key in list(self.keys):
            value = table[key].now()
            if value:
                priority, sla, _ = key.split("|")
                out.setdefault((priority, sla), Sketch()).merge(Sketch.from_dict(value))
        return out


class BoardCollector(Collector):
    """The board's current windows as gauges: count, sum and quantiles."""

    def __init__(self, board: LiveBoard) -> None:
        self.board = board

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["window", "priority", "sla"]
        # not a summary's _count/_sum/quantile: promtool reserves those for summaries
        count = GaugeMetricFamily("slamon_board_clocks", "Stopped SLA clocks in the window.",
                                  labels=labels)  # fmt: skip
        total = GaugeMetricFamily("slamon_board_elapsed_seconds",
                                  "Sum of their business seconds.", labels=labels)  # fmt: skip
        quantile = GaugeMetricFamily(
            "slamon_board_quantile_seconds",
            "Quantiles (1% relative error) of their business seconds.",
            labels=[*labels, "q"],
        )
        for window in self.board.windows:
            for (priority, sla), sketch in sorted(self.board.current(window).items(),
                                                  key=operator.itemgetter(0)):  # fmt: skip
                count.add_metric([window, priority, sla], sketch.count)
                total.add_metric([window, priority, sla], sketch.total)
                for q in QUANTILES:
                    value = sketch.quantile(q)
                    if value is not None:
                        quantile.add_metric([window, priority, sla, str(q)], value)
        yield count
        yield total
        yield quantile
