"""The `slamon watch` board: what it knows (:class:`BoardState`) and how it looks (rich).

Per priority and SLA: running clocks, at risk, breached, met, compliance, p80 against the
target; input records a second; the latest alerts and how late each was detected.
/metrics gives the counts; p80 and the alerts come from the output topics, read by the
watcher since it started (or from the beginning).
"""

from __future__ import annotations

import time
from collections import deque
from urllib.parse import urlsplit

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from slamon.core.durations import format_duration
from slamon.core.policy import PRIORITIES, SLAS
from slamon.core.sketch import Sketch
from slamon.core.timefmt import NS_PER_S
from slamon.terminal.records import (
    COLOURS,
    AlertView,
    clock_text,
    parse_alert,
    parse_outcome,
    seconds_text,
)
from slamon.terminal.snapshot import Pair, Snapshot, records_per_s

P80 = 0.8
RATE_WINDOW_S = 10.0
MAX_REMEMBERED = 100_000  # (ticket, SLA) pairs kept so a re-sent outcome counts once


class BoardState:
    """Recent scrapes (for rates), the latest alerts, outcome durations and targets."""

    def __init__(self, recent: int = 8) -> None:
        self.scrapes: deque[Snapshot] = deque()  # the last RATE_WINDOW_S of them
        self.problem: str | None = None  # why the latest scrape failed
        self.recent = recent
        self._alerts: list[AlertView] = []
        self.durations: dict[Pair, Sketch] = {}
        self.targets: dict[Pair, float] = {}
        self.counted: dict[tuple[str, str], None] = {}  # insertion-ordered set

    @property
    def snapshot(self) -> Snapshot | None:
        return self.scrapes[-1] if self.scrapes else None

    def scraped(self, snapshot: Snapshot) -> None:
        self.scrapes.append(snapshot)
        while snapshot.taken_at - self.scrapes[0].taken_at > RATE_WINDOW_S:
            self.scrapes.popleft()
        self.problem = None

    def failed(self, problem: str) -> None:
        self.problem = problem

    def alert(self, value: bytes | None) -> None:
        alert = parse_alert(value)
        # delivery is at least once: a redelivered alert (same id) is listed once
        if alert is not None and all(a.id != alert.id for a in self._alerts):
            self._alerts.append(alert)
            if len(self._alerts) > 4 * self.recent:
                self._alerts = self.alerts()

    def alerts(self) -> list[AlertView]:
        """The ``recent`` latest alerts by instant, newest first (partitions interleave)."""
        return sorted(self._alerts, key=lambda a: a.at, reverse=True)[: self.recent]

    def outcome(self, value: bytes | None) -> None:
        outcome = parse_outcome(value)
        if outcome is None or outcome.status not in ("met", "breached"):
            return
        pair = (outcome.priority, outcome.sla)
        self.targets[pair] = outcome.target_s
        key = (outcome.ticket, outcome.sla)
        if key in self.counted:
            return
        self.counted[key] = None
        if len(self.counted) > MAX_REMEMBERED:
            del self.counted[next(iter(self.counted))]
        self.durations.setdefault(pair, Sketch()).add(outcome.elapsed_s)

    def p80(self, pair: Pair) -> float | None:
        sketch = self.durations.get(pair)
        return None if sketch is None else sketch.quantile(P80)

    def rate(self) -> float | None:
        """Input records a second over the last RATE_WINDOW_S (smoother than scrape to scrape)."""
        if len(self.scrapes) < 2:
            return None
        return records_per_s(self.scrapes[0], self.scrapes[-1])


def _count(value: int, colour: str) -> Text:
    return Text(str(value), style=colour if value else "dim")


def _percent(value: float | None) -> Text:
    if value is None:
        return Text("-", style="dim")
    return Text(f"{value:.0%}", style="green" if value >= 0.9 else "red")


def header(state: BoardState, source: str, progress: tuple[float, float] | None) -> Text:
    """One line: where the figures come from, input rate, lag, time (and run progress)."""
    line = Text.assemble(("slamon watch", "bold"), f"  {urlsplit(source).netloc or source}  ")
    snap = state.snapshot
    if snap is not None:
        rate = state.rate()
        line.append(f"input {snap.records:,}")
        line.append(f" ({rate:.1f}/s)" if rate is not None else "")
        line.append(f"  lag {snap.lag:,}  {snap.tickets:,} tickets")
        if not snap.ready:
            line.append("  recovering", style="yellow")
    if state.problem is not None:
        line.append(f"  metrics: {state.problem}", style="bold red")
    line.append(f"  {clock_text(time.time_ns())[11:]} UTC", style="dim")
    if progress is not None:
        done, total = progress
        elapsed = format_duration(int(min(done, total)) * NS_PER_S)
        line.append(f"  {elapsed} of {seconds_text(total)}", style="cyan")
    return line


def sla_table(state: BoardState) -> Table:
    """Per SLA and priority: the clocks, the outcomes, and how fast they stop."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("SLA", "prio", "open", "at risk", "breached", "met", "compliance"):
        table.add_column(name, justify="left" if name in ("SLA", "prio") else "right")
    table.add_column("p80 / target", justify="right")
    snap = state.snapshot or Snapshot(0.0)
    for sla in SLAS:
        for priority in PRIORITIES:
            pair = (priority, sla)
            p80, target = state.p80(pair), state.targets.get(pair)
            speed = Text(f"{seconds_text(p80)}" if p80 is not None else "-",
                         style="dim" if p80 is None or target is None
                         else "red" if p80 > target else "green")  # fmt: skip
            speed.append(f" / {seconds_text(target)}" if target is not None else " / -")
            table.add_row(
                sla.replace("_", " ") if priority == PRIORITIES[0] else "", priority,
                _count(snap.open.get(pair, 0), "default"),
                _count(snap.at_risk.get(pair, 0), "yellow"),
                _count(snap.breached.get(pair, 0), "bold red"),
                _count(snap.met_final.get(pair, 0), "green"),
                _percent(snap.compliance(pair)), speed,
            )  # fmt: skip
        if sla != SLAS[-1]:
            table.add_section()
    return table


def alerts_table(state: BoardState) -> Table:
    """The latest alerts, newest first, with the delay between the instant and detection."""
    table = Table(box=None, header_style="bold", pad_edge=False, title_justify="left",
                  title="latest alerts", title_style="bold")  # fmt: skip
    for name in ("at (UTC)", "alert", "SLA", "prio", "ticket", "detected after"):
        table.add_column(name, justify="right" if name == "detected after" else "left")
    alerts = state.alerts()
    for alert in alerts:
        table.add_row(
            clock_text(alert.at)[11:], Text(alert.label, style=COLOURS.get(alert.type, "")),
            alert.sla.replace("_", " "), alert.priority, alert.ticket,
            seconds_text(alert.delay / 1e9),
        )  # fmt: skip
    if not alerts:
        table.add_row(Text("none yet", style="dim"))
    return table


def render(
    state: BoardState, source: str, progress: tuple[float, float] | None = None
) -> RenderableType:
    """The whole board."""
    return Group(header(state, source, progress), Text(), sla_table(state), Text(),
                 alerts_table(state))  # fmt: skip


def status_line(state: BoardState) -> str:
    """The board in one plain line, for a log or a pipe (no terminal to redraw)."""
    snap = state.snapshot
    if snap is None:
        return f"{clock_text(time.time_ns())}  metrics: {state.problem or 'no scrape yet'}"
    rate = state.rate()
    by_sla = ", ".join(
        f"{sla} {sum(v for (_, s), v in snap.breached.items() if s == sla)}" for sla in SLAS
    )
    return (
        f"{clock_text(time.time_ns())}  input {snap.records:,} records"
        f"{f' ({rate:.1f}/s)' if rate is not None else ''}  open {snap.total(snap.open):,}  "
        f"at risk {snap.total(snap.at_risk):,}  breached {snap.total(snap.breached):,} "
        f"({by_sla})  met {snap.total(snap.met_final):,}"
    )
