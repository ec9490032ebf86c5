"""`slamon tail`: brief lines people can read, dead letters with their reason, clear errors."""

from __future__ import annotations

import click
import orjson
from click.testing import CliRunner

from slamon.adapters.cloudevents import encode_alert, encode_outcome
from slamon.cli import main
from slamon.cli.tail import BriefLines, full_line
from slamon.core.decisions import Alert, AlertType, Outcome, Status
from slamon.core.timefmt import NS_PER_S
from slamon.testing import instant
from tests.integration.harness import free_port


def alert(kind: AlertType, ticket: str = "T-1", sla: str = "first_response") -> bytes:
    """An alert record as the worker writes it, detected 1.5 s after its instant."""
    at = instant(0)
    return encode_alert(Alert("id-1", kind, ticket, sla, "P1", at, at), at + 3 * NS_PER_S // 2)


def outcome(status: Status) -> bytes:
    return encode_outcome(
        Outcome("T-2", "resolution", "P3", status, 90 * NS_PER_S, 240 * NS_PER_S, None, True),
        instant(5),
    )


DEAD = {"slamon_error": b"not valid JSON", "slamon_source_topic": b"slamon.ticket-events",
        "slamon_source_partition": b"2", "slamon_source_offset": b"15"}  # fmt: skip


def test_brief_alert_line_has_a_header_the_instant_and_the_delay() -> None:
    """A header first, then the instant to the second and the delay, not a second timestamp."""
    header, line = map(click.unstyle, BriefLines().render(alert(AlertType.BREACHED), {}))
    assert header.split() == ["at", "(UTC)", "alert", "sla", "prio", "ticket", "delay"]
    assert line.split() == ["2026-11-23", "08:00:00", "BREACHED", "first_response", "P1", "T-1",
                            "+1.5s"]  # fmt: skip


def test_breaches_stand_out_from_at_risk_with_and_without_colour() -> None:
    """Plain text: BREACHED in capitals, "at risk" not; on a terminal, red versus yellow."""
    lines = BriefLines()
    breach = lines.render(alert(AlertType.BREACHED), {})[-1]
    risk = lines.render(alert(AlertType.AT_RISK), {})[-1]
    assert "BREACHED" in click.unstyle(breach)
    assert "at risk" in click.unstyle(risk)
    assert "BREACHED" not in click.unstyle(risk)
    assert click.style("BREACHED ", fg="red", bold=True) in breach
    assert click.style("at risk  ", fg="yellow") in risk


def test_the_header_is_printed_once_per_run_of_one_kind() -> None:
    """Alert, alert, outcome: two headers (the second names the outcome columns)."""
    lines = BriefLines()
    records = [alert(AlertType.AT_RISK), alert(AlertType.BREACHED), outcome(Status.MET)]
    out = [line for record in records for line in lines.render(record, {})]
    plain = [click.unstyle(line) for line in out]
    assert len(plain) == 5
    assert plain[0].startswith("at (UTC)")
    assert plain[3].split()[:4] == ["ticket", "sla", "prio", "status"]
    assert plain[4].split() == ["T-2", "resolution", "P3", "met", "1m30s", "/", "4m"]


def test_a_dead_letter_shows_its_source_and_reason() -> None:
    """Brief: source partition and offset, the slamon_error reason, the record excerpt."""
    header, line = map(click.unstyle, BriefLines().render(b"{not json", DEAD))
    assert header.split()[:2] == ["source", "reason"]
    assert line.split("  |  ") == ["slamon.ticket-events[2]@15        not valid JSON", "{not json"]


def test_a_dead_letter_in_full_is_one_json_with_its_headers() -> None:
    """Without --brief a dead letter is still one JSON per line: headers plus the value."""
    record = orjson.loads(full_line(b"{not json", {**DEAD, "ce_id": b"x"}))
    assert record == {**{k: v.decode() for k, v in DEAD.items()}, "value": "{not json"}


def test_other_records_print_as_they_are() -> None:
    """An alert without a dead-letter header prints its value unchanged, brief or not."""
    value = alert(AlertType.BREACHED)
    assert full_line(value, {}) == value.decode()
    assert BriefLines().render(b'{"x": 1}', {}) == ['{"x": 1}']


def test_tail_on_an_unreachable_broker_is_one_line_and_fails() -> None:
    """No traceback: one `Error: cannot reach Kafka at ...` line and exit code 1."""
    broker = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["tail", "--broker", broker])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"Error: cannot reach Kafka at {broker}")
