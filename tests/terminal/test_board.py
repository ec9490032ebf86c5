"""The `slamon watch` board without a terminal: metrics text in, figures and text out.

The metrics come from the worker's own collectors (not hand-written text), so a renamed
metric breaks these tests, not the demo. Policy: ``small_policy`` (P1 first response 10m,
at risk at 7.5m).
"""

from __future__ import annotations

import io

from prometheus_client import CollectorRegistry, generate_latest
from rich.console import Console

from slamon.adapters.cloudevents import encode_alert, encode_outcome
from slamon.adapters.jsonl import decode_line
from slamon.adapters.metrics import EngineCollector, SlaMetrics
from slamon.core.decisions import Alert, AlertType, Outcome, Status
from slamon.core.live import LiveEngine
from slamon.core.timefmt import NS_PER_S
from slamon.terminal.board import BoardState, render, status_line
from slamon.terminal.snapshot import parse_metrics
from slamon.testing import EventLog, at, instant, small_policy

POLICY = small_policy()
FR = ("P1", "first_response")


def worker_metrics() -> tuple[str, list[bytes]]:
    """/metrics of a worker that saw three P1 tickets, and its alert records, at 12m.

    A answered at 2m (met), B never (breached at 10m), C created at 5m (at risk at 12.5m,
    not yet): first response has 2 running clocks, 0 at risk (B breached), 1 breach.
    """
    registry = CollectorRegistry()
    metrics = SlaMetrics(registry, POLICY)
    engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
    registry.register(EngineCollector(engine, lambda: {0: 3, 1: 4}))
    log = EventLog()
    log.created("A", at(0), priority="P1")
    log.created("B", at(0), priority="P1")
    log.add("ticket.responded", "A", at(2))
    log.created("C", at(5), priority="P1")
    alerts = []
    for seq, line in enumerate(log.lines()):
        metrics.event("processed")
        result = engine.ingest(decode_line(line, seq), instant(5))
        assert isinstance(result, list)
        alerts += result
    alerts += engine.advance(instant(12))
    for alert in alerts:
        metrics.alert(alert, alert.at + NS_PER_S // 4, by_clock=True, where=("remote", "none"))
    for outcome, first in engine.drain_outcomes():
        metrics.outcome(outcome, first=first, where=("remote", "none"))
    records = [encode_alert(alert, alert.at + NS_PER_S // 4) for alert in alerts]
    return generate_latest(registry).decode(), records


def test_the_snapshot_reads_the_worker_s_own_metrics() -> None:
    """Running clocks, breaches, final outcomes, records handled and lag, per pair."""
    text, _ = worker_metrics()
    snap = parse_metrics(text, taken_at=1.0)
    assert snap.open[FR] == 2
    assert snap.at_risk[FR] == 0
    assert snap.breached[FR] == 1
    assert snap.met_final[FR] == 1
    assert snap.compliance(FR) == 0.5  # A met; B's breach counts now, though still running
    assert snap.compliance(("P2", "first_response")) is None
    assert (snap.records, snap.lag, snap.tickets) == (4, 7, 3)


def test_a_retraction_takes_a_breach_back() -> None:
    """breached = breach alerts minus retractions, per priority and SLA."""
    text = (
        'slamon_alerts_total{type="sla.breached",sla="resolution",priority="P2"} 3\n'
        'slamon_alerts_total{type="sla.breach_retracted",sla="resolution",priority="P2"} 1\n'
        'slamon_alerts_total{type="sla.at_risk",sla="resolution",priority="P2"} 9\n'
    )
    assert parse_metrics(text, 0.0).breached == {("P2", "resolution"): 2}


def test_running_clocks_by_state_count_as_open_and_at_risk() -> None:
    """slamon_running_clocks{state}: every state is open, the at_risk state also at risk."""
    text = "".join(
        f'slamon_running_clocks{{priority="P1",sla="resolution",state="{state}"}} {count}\n'
        for state, count in (("within_target", 4), ("at_risk", 2), ("breached", 1))
    )
    snap = parse_metrics(text, 0.0)
    assert snap.open == {("P1", "resolution"): 7}
    assert snap.at_risk == {("P1", "resolution"): 2}


def test_records_per_second_come_from_two_scrapes() -> None:
    """The input rate is the difference of two scrapes over the time between them."""
    state = BoardState()
    state.scraped(parse_metrics('slamon_events_total{result="processed"} 10\n', 100.0))
    assert state.rate() is None
    state.scraped(parse_metrics('slamon_events_total{result="processed"} 30\n', 104.0))
    assert state.rate() == 5.0


def test_p80_against_the_target_comes_from_the_outcome_records() -> None:
    """p80 of met and breached durations; an outcome record seen twice counts once."""
    state = BoardState()
    for i in range(10):
        outcome = Outcome(f"T{i}", "resolution", "P3", Status.MET, (i + 1) * 60 * NS_PER_S,
                          8 * 3600 * NS_PER_S, None, True)  # fmt: skip
        state.outcome(encode_outcome(outcome, 0))
        state.outcome(encode_outcome(outcome, 0))
    p80 = state.p80(("P3", "resolution"))
    assert p80 is not None
    assert abs(p80 - 480) / 480 < 0.02  # the sketch's 1% relative error
    assert state.targets[("P3", "resolution")] == 8 * 3600


def board_text(state: BoardState, *, styles: bool = False) -> str:
    """The board as a 100-column terminal shows it (with ANSI styles if ``styles``)."""
    console = Console(record=True, width=100, color_system="standard", file=io.StringIO())
    console.print(render(state, "http://127.0.0.1:6066/metrics", (30.0, 180.0)))
    return console.export_text(styles=styles)


def test_the_board_shows_each_sla_and_priority_and_the_latest_alerts() -> None:
    """Twelve rows (3 SLAs x 4 priorities) with their counts; alerts newest first."""
    text, records = worker_metrics()
    state = BoardState()
    state.scraped(parse_metrics(text, 1.0))
    for record in records:
        state.alert(record)
    out = board_text(state)
    assert "127.0.0.1:6066" in out
    assert "30s of 3m" in out
    row = next(line for line in out.splitlines() if line.startswith("first response"))
    assert row.split() == ["first", "response", "P1", "2", "0", "1", "1", "50%", "-", "/", "-"]
    alerts = out.split("latest alerts", 1)[1].splitlines()[2:]
    assert alerts[0].split()[1:] == ["BREACHED", "first", "response", "P1", "B", "250ms"]
    assert alerts[1].split()[1:4] == ["at", "risk", "first"]


def test_breaches_are_red_and_at_risk_yellow_on_the_board() -> None:
    """Colour carries the difference on a terminal (the words carry it without one)."""
    _, records = worker_metrics()
    state = BoardState()
    for record in records:
        state.alert(record)
    ansi = board_text(state, styles=True)
    assert "\x1b[31mBREACHED" in ansi
    assert "\x1b[33mat risk" in ansi


def test_without_a_scrape_the_board_says_why() -> None:
    """An unreachable worker is a message on the board and in the status line, not a crash."""
    state = BoardState()
    state.failed("cannot read http://127.0.0.1:1/metrics: Connection refused")
    assert "Connection refused" in board_text(state)
    assert status_line(state).endswith("metrics: cannot read http://127.0.0.1:1/metrics: "
                                       "Connection refused")  # fmt: skip


def test_the_status_line_sums_the_board_for_a_log() -> None:
    """One plain line: input, open, at risk, breached (per SLA) and met."""
    text, _ = worker_metrics()
    state = BoardState()
    state.scraped(parse_metrics(text, 1.0))
    line = status_line(state)
    assert "input 4 records" in line
    assert "breached 1 (first_response 1, onsite_arrival 0, resolution 0)" in line
    assert line.endswith("met 1")


def test_the_latest_alerts_are_the_newest_instants_whatever_the_partition_order() -> None:
    """Partitions read one after the other: the newest first; a redelivered alert once."""
    state = BoardState(recent=3)
    for minute in (5, 1, 9, 3, 7, 2, 8, 4, 6, 0) * 2:
        alert = Alert(f"id{minute}", AlertType.BREACHED, f"T{minute}", "resolution", "P2",
                      instant(minute), instant(minute))  # fmt: skip
        state.alert(encode_alert(alert, instant(minute)))
    assert [a.ticket for a in state.alerts()] == ["T9", "T8", "T7"]
