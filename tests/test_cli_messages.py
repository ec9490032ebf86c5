"""What the offline commands and `publish --validate` tell a user about their input."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from slamon.cli import main
from slamon.testing import EventLog, at


def write_log(path: Path, *, bad: bool = False) -> Path:
    """Two tickets; with ``bad``, line 2 is not JSON and line 4 has an unknown priority."""
    log = EventLog()
    log.created("T-1", at(0))
    if bad:
        log.raw(b"{not json")
    log.add("ticket.responded", "T-1", at(5))
    if bad:
        log.created("T-9", at(1), priority="P9")
    log.created("T-2", at(10))
    path.write_bytes(b"\n".join(log.lines()) + b"\n")
    return path


def test_replay_with_output_files_still_prints_the_summary_and_says_what_it_wrote(
    tmp_path: Path,
) -> None:
    """--alerts/--report to files: the summary is on stdout, where each output went on stderr."""
    events = write_log(tmp_path / "events.jsonl")
    alerts, report = tmp_path / "a.jsonl", tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["replay", str(events), "--alerts", str(alerts), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("slamon replay  policy=default")
    assert "events: 3 processed, 0 invalid" in result.stdout
    count = len(alerts.read_bytes().splitlines())
    assert result.stderr == f"wrote {count} alerts to {alerts}, the report to {report}\n"


def test_replay_with_an_output_on_stdout_keeps_stdout_for_it(tmp_path: Path) -> None:
    """--report -: stdout is the report's JSON alone, no summary mixed into it."""
    events = write_log(tmp_path / "events.jsonl")
    result = CliRunner().invoke(main, ["replay", str(events), "--report", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("{")
    assert "slamon replay" not in result.stdout


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "the input is empty"), (b"\n\n", "the input is empty"),
     (b"{bad\n", "1 invalid line, no valid one")],
)  # fmt: skip
def test_replay_of_a_log_without_events_says_so_instead_of_an_empty_table(
    tmp_path: Path, content: bytes, why: str
) -> None:
    """An empty (or all-invalid) log: one line naming the file and why, no table of zeros."""
    events = tmp_path / "empty.jsonl"
    events.write_bytes(content)
    result = CliRunner().invoke(main, ["replay", str(events)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"{events}: no events to replay ({why})"


def test_invalid_line_messages_name_the_file_and_line(tmp_path: Path) -> None:
    """``file:line: invalid event: reason``, as compilers do; ``<stdin>`` for -."""
    events = write_log(tmp_path / "events.jsonl", bad=True)
    result = CliRunner().invoke(main, ["replay", str(events)])
    assert result.exit_code == 0, result.output
    not_json = "not valid JSON: unexpected character, expected a string key (at character 1)"
    assert result.stderr.splitlines() == [
        f"{events}:2: invalid event: {not_json}",
        f"{events}:4: invalid event: data.priority must be one of P1, P2, P3, P4, got 'P9'",
    ]
    piped = CliRunner().invoke(main, ["replay", "-"], input=events.read_bytes())
    assert piped.stderr.splitlines()[0].startswith("<stdin>:2: invalid event: not valid JSON")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[list[bytes]]:
    """The lines `publish` hands to Kafka, instead of sending them (no broker needed)."""
    batches: list[list[bytes]] = []

    async def publish_lines(
        _broker: str, _topic: str, lines: Iterable[bytes], _rate: float, **_: Any
    ) -> int:
        batch = [line.strip() for line in lines if line.strip()]
        batches.append(batch)
        return len(batch)

    async def ensure_topics(*_: Any, **__: Any) -> None:
        return None

    monkeypatch.setattr("slamon.adapters.kafka.publish_lines", publish_lines)
    monkeypatch.setattr("slamon.adapters.kafka_topics.ensure_topics", ensure_topics)
    return batches


def test_publish_validate_lists_invalid_lines_and_sends_nothing(
    tmp_path: Path, sent: list[list[bytes]]
) -> None:
    """--validate with 2 invalid lines of 5: each listed with its line and reason; exit 1,
    the count and the way out in one error line; not one record sent."""
    events = write_log(tmp_path / "events.jsonl", bad=True)
    result = CliRunner().invoke(main, ["publish", str(events), "--validate"])
    assert result.exit_code == 1
    assert sent == []
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{events}:2: invalid event: not valid JSON")
    assert lines[1].startswith(f"{events}:4: invalid event: data.priority")
    assert lines[2] == (
        f"Error: 2 invalid lines in {events}: nothing sent (--skip-invalid sends the 3 valid ones)"
    )


def test_publish_skip_invalid_sends_the_valid_lines_only(
    tmp_path: Path, sent: list[list[bytes]]
) -> None:
    """--skip-invalid: the invalid lines are listed, the three valid ones sent, in order."""
    events = write_log(tmp_path / "events.jsonl", bad=True)
    result = CliRunner().invoke(main, ["publish", str(events), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    valid = [line for i, line in enumerate(events.read_bytes().splitlines()) if i not in (1, 3)]
    assert sent == [valid]
    assert result.stderr.splitlines()[-1].endswith(", 2 invalid lines skipped")


def test_publish_validate_on_a_clean_log_sends_every_line(
    tmp_path: Path, sent: list[list[bytes]]
) -> None:
    """--validate on a valid log: everything is sent, nothing listed."""
    events = write_log(tmp_path / "events.jsonl")
    result = CliRunner().invoke(main, ["publish", str(events), "--validate"])
    assert result.exit_code == 0, result.output
    assert sent == [events.read_bytes().splitlines()]
    assert "invalid" not in result.stderr
