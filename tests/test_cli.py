"""The `slamon` command line: replay outputs, summary, errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from slamon.cli import main
from slamon.testing import EventLog, at


def sample_log(path: Path) -> Path:
    log = EventLog()
    log.created("T1", at(0), priority="P1", service="onsite")
    log.add("ticket.responded", "T1", at(5))
    log.raw(b"{not json")
    log.created("T2", at(10), priority="P3")
    log.add("ticket.resolved", "T1", at(90), {"first_time_fix": True})
    log.add("survey.submitted", "T1", at(100), {"score": 9})
    path.write_bytes(b"\n".join(log.lines()) + b"\n\n")
    return path


def test_replay_writes_alerts_outcomes_and_report(tmp_path: Path) -> None:
    """--alerts/--outcomes/--report write JSONL and JSON with the documented fields."""
    events = sample_log(tmp_path / "events.jsonl")
    outputs = {"--alerts": "a.jsonl", "--outcomes": "o.jsonl", "--report": "r.json"}
    args = ["replay", str(events)]
    for flag, name in outputs.items():
        args += [flag, str(tmp_path / name)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "invalid line 3: not valid JSON" in result.stderr
    outcomes = [orjson.loads(x) for x in (tmp_path / "o.jsonl").read_bytes().splitlines()]
    assert len(outcomes) == 6
    assert set(outcomes[0]) == {"ticket_id", "sla", "priority", "status", "elapsed_seconds",
                                "target_seconds", "deadline"}  # fmt: skip
    alerts = [orjson.loads(x) for x in (tmp_path / "a.jsonl").read_bytes().splitlines()]
    assert alerts
    assert all(
        set(a) == {"id", "type", "ticket_id", "sla", "priority", "deadline", "at"} for a in alerts
    )
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["events"] == {"processed": 5, "invalid": 1, "duplicates": 0, "orphans": 0}
    assert report["until"] == at(100)
    assert report["quality"]["csat_count"] == 1


def test_replay_without_outputs_prints_a_summary(tmp_path: Path) -> None:
    """With no output flag the summary table lists every priority and the quality figures."""
    events = sample_log(tmp_path / "events.jsonl")
    result = CliRunner().invoke(main, ["replay", str(events)])
    assert result.exit_code == 0, result.output
    for word in ("P1", "P4", "first_response", "compliance", "first-time fix rate", "CSAT"):
        assert word in result.stdout


def test_replay_reads_stdin(tmp_path: Path) -> None:
    """EVENTS may be - for standard input."""
    events = sample_log(tmp_path / "events.jsonl")
    result = CliRunner().invoke(
        main, ["replay", "-", "--report", str(tmp_path / "r.json")], input=events.read_bytes()
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads((tmp_path / "r.json").read_bytes())["events"]["processed"] == 5


def test_bad_until_is_a_usage_error() -> None:
    """--until without an offset is refused before any work."""
    result = CliRunner().invoke(main, ["replay", "-", "--until", "2026-11-24T08:00:00"], input=b"")
    assert result.exit_code == 2
    assert "--until" in result.stderr


def test_bad_policy_names_file_line_and_field(tmp_path: Path) -> None:
    """A policy with a bad duration fails with the file, the line and the field path."""
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        "apiVersion: slamon/v1\nkind: SlaPolicy\nmetadata: {name: bad}\nspec:\n  priorities:\n"
        "    P1: {calendar: 24x7, first_response: 15x, onsite_arrival: 4h, resolution: 8h}\n"
    )
    result = CliRunner().invoke(main, ["replay", "-", "--policy", str(policy)], input=b"")
    assert result.exit_code == 1
    assert "bad.yaml:6" in result.stderr
    assert "first_response" in result.stderr


def test_policy_check_prints_targets() -> None:
    """`slamon policy check` on the bundled policy shows every priority's targets."""
    path = Path(__file__).parents[1] / "src/slamon/data/default-policy.yaml"
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert all(p in result.stdout for p in ("P1", "P2", "P3", "P4"))


def test_generate_writes_a_replayable_log(tmp_path: Path) -> None:
    """`slamon generate --messy` output replays with invalid lines and duplicates counted."""
    out = tmp_path / "gen.jsonl"
    result = CliRunner().invoke(main, ["generate", "--tickets", "300", "--messy", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["replay", str(out), "--report", str(report_path)])
    assert result.exit_code == 0, result.output
    events = orjson.loads(report_path.read_bytes())["events"]
    assert events["processed"] > 3 * 300  # most tickets: created, responded, resolved, closed
    assert events["invalid"] > 0
    assert events["duplicates"] > 0


def test_worker_rejects_a_bad_duration_before_connecting() -> None:
    """--retention 15x is a usage error naming the option; no broker is contacted."""
    result = CliRunner().invoke(main, ["worker", "--retention", "15x"])
    assert result.exit_code == 2
    assert "--retention" in result.stderr


def test_worker_reads_its_settings_from_slamon_environment_variables() -> None:
    """12-factor: SLAMON_RETENTION is validated like --retention."""
    result = CliRunner().invoke(main, ["worker"], env={"SLAMON_RETENTION": "never"})
    assert result.exit_code == 2
    assert "never" in result.stderr


def test_worker_with_a_bad_policy_names_file_and_line(tmp_path: Path) -> None:
    """A bad policy stops the worker at once with the file, line and field."""
    policy = tmp_path / "bad.yaml"
    policy.write_text("apiVersion: slamon/v1\nkind: SlaPolicy\nmetadata: {name: x}\nspec: 3\n")
    result = CliRunner().invoke(main, ["worker", "--policy", str(policy)])
    assert result.exit_code == 1
    assert "bad.yaml:4" in result.stderr
    assert "spec" in result.stderr
