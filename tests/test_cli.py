"""The `slamon` command line: replay outputs, summary, errors a user can act on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner

from slamon.cli import main
from slamon.core.policy import SlaPolicy
from slamon.testing import EventLog, at
from slamon.worker.settings import Topics, WorkerSettings

COMMANDS = {"replay", "generate", "policy", "worker", "publish", "simulate", "tail", "watch",
            "rules", "explain", "report", "dashboards"}  # fmt: skip


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
    assert f"{events}:3: invalid event: not valid JSON" in result.stderr
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


def summary_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    """The summary table's rows: (priority, sla) -> count, met, breached, open, compliance, p80."""
    rows = (line.split() for line in stdout.splitlines() if re.match(r"P\d ", line))
    return {(row[0], row[1]): row[2:] for row in rows}


def test_replay_without_outputs_prints_a_summary(tmp_path: Path) -> None:
    """With no output flag the summary shows the replayed log's own counts, rates and p80s."""
    events = sample_log(tmp_path / "events.jsonl")
    result = CliRunner().invoke(main, ["replay", str(events)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["slamon", "replay", "policy=default", f"until={at(100)}"]
    assert lines[1] == "events: 5 processed, 1 invalid, 0 duplicates, 0 orphans"
    rows = summary_rows(result.stdout)
    assert len(rows) == 12  # every priority x every SLA, empty ones included
    assert rows["P1", "first_response"] == ["1", "1", "0", "0", "100.0%", "5.0m"]  # at +5m
    assert rows["P1", "onsite_arrival"] == ["1", "0", "0", "1", "-", "-"]  # still open
    assert rows["P1", "resolution"] == ["1", "1", "0", "0", "100.0%", "1.5h"]  # at +90m
    assert rows["P3", "first_response"] == ["1", "0", "1", "0", "0.0%", "-"]  # T2 never answered
    assert rows["P3", "resolution"] == ["1", "0", "0", "1", "-", "-"]
    for priority in ("P2", "P4"):
        for sla in ("first_response", "onsite_arrival", "resolution"):
            assert rows[priority, sla] == ["0", "0", "0", "0", "-", "-"]
    assert lines[-1].split() == [
        "first-time", "fix", "rate", "100.0%", "reopen", "rate", "0.0%",
        "CSAT", "9.00", "/", "10", "(n=1)",
    ]  # fmt: skip


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


def test_policy_check_prints_the_file_s_own_targets(tmp_path: Path) -> None:
    """`slamon policy check` prints each priority's calendar and targets as the file writes
    them (``24h``, not its normal form ``1d``, which reads as one working day), and under
    each its objectives (the defaults here)."""
    policy = tmp_path / "tiny.yaml"
    policy.write_text(
        "apiVersion: slamon/v1\nkind: SlaPolicy\nmetadata: {name: tiny}\nspec:\n"
        "  warn_at: 0.5\n  priorities:\n"
        "    P1: {calendar: 24x7, first_response: 7m, onsite_arrival: 3h, resolution: 90m}\n"
        "    P2: {calendar: 24x7, first_response: 20m, onsite_arrival: 6h, resolution: 24h}\n"
        "    P3: {calendar: 24x7, first_response: 2h, onsite_arrival: 12h, resolution: 2d}\n"
        "    P4: {calendar: 24x7, first_response: 8h, onsite_arrival: 2d, resolution: 36h}\n"
    )
    result = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "policy 'tiny' is valid"
    assert [line.split() for line in lines[2:10:2]] == [
        ["P1", "24x7", "7m", "3h", "90m"],
        ["P2", "24x7", "20m", "6h", "24h"],
        ["P3", "24x7", "2h", "12h", "2d"],
        ["P4", "24x7", "8h", "2d", "36h"],
    ]
    objectives = [line.split() for line in lines[3:11:2]]
    assert objectives == [["objective", f"{p}%", f"{p}%", f"{p}%"] for p in (99, 98, 95, 90)]
    assert lines[10].startswith("warn_at=0.5 ")


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


def test_help_lists_every_command() -> None:
    """`slamon --help` lists every command, and nothing else."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.stdout.split("Commands:\n", 1)[1].splitlines()
    names = {line.split()[0] for line in listed if re.match(r"  \S", line)}  # not wrapped text
    assert names == COMMANDS


def option_lines(help_text: str) -> dict[str, str]:
    """An option's help, joined into one line, by its flag, e.g. ``--broker``."""
    options: dict[str, str] = {}
    flag = None
    for line in (line.strip() for line in help_text.splitlines()):
        if line.startswith("-"):
            flag = line.split()[0]
            options[flag] = line
        elif flag is not None and line:
            options[flag] += " " + line
    return options


def test_worker_help_shows_the_defaults_of_worker_settings() -> None:
    """`slamon worker --help` shows WorkerSettings' and Topics' defaults, durations as text."""
    result = CliRunner().invoke(
        main, ["worker", "--help"], terminal_width=400, max_content_width=400
    )
    assert result.exit_code == 0, result.output
    lines = option_lines(result.stdout)
    settings, topics = WorkerSettings(), Topics()
    expected = {
        "--broker": settings.broker, "--app-id": settings.app_id,
        "--web-host": settings.web_host, "--web-port": str(settings.web_port),
        "--store": settings.store, "--partitions": str(settings.partitions),
        "--standbys": str(settings.standbys),
        "--events-topic": topics.events, "--alerts-topic": topics.alerts,
        "--outcomes-topic": topics.outcomes, "--dead-letter-topic": topics.dead_letter,
        "--retention": "3d", "--session-timeout": "10s",
        "--log-level": settings.log_level, "--log-format": "json",
    }  # fmt: skip
    for flag, default in expected.items():
        assert re.search(rf"[\[;] default: {re.escape(default)}[;\]]", lines[flag]), lines[flag]
    assert "var/slamon-<web port>" in lines["--data-dir"]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[WorkerSettings, SlaPolicy]]:
    """What `slamon worker` hands to run_worker, instead of running it; no SLAMON_* set."""
    for name in [n for n in os.environ if n.startswith("SLAMON_")]:
        monkeypatch.delenv(name)
    calls: list[tuple[WorkerSettings, SlaPolicy]] = []
    monkeypatch.setattr(
        "slamon.bootstrap.run_worker", lambda settings, policy: calls.append((settings, policy))
    )
    return calls


def test_worker_without_options_runs_with_the_default_settings(
    started: list[tuple[WorkerSettings, SlaPolicy]],
) -> None:
    """No flags, no env: the worker gets WorkerSettings() exactly, data in var/slamon-6066."""
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 0, result.output
    [(settings, policy)] = started
    assert settings == WorkerSettings()
    assert settings.data_dir == Path("var/slamon-6066")
    assert policy.name == "default"


def test_worker_takes_every_setting_from_its_environment_variable(
    started: list[tuple[WorkerSettings, SlaPolicy]], tmp_path: Path
) -> None:
    """Each SLAMON_* variable reaches its field of WorkerSettings."""
    env = {
        "SLAMON_BROKER": "kafka://k1:9093", "SLAMON_APP_ID": "a", "SLAMON_WEB_HOST": "0.0.0.0",
        "SLAMON_WEB_PORT": "7001", "SLAMON_DATA_DIR": str(tmp_path / "d"),
        "SLAMON_STORE": "memory://", "SLAMON_PARTITIONS": "3", "SLAMON_EVENTS_TOPIC": "e",
        "SLAMON_ALERTS_TOPIC": "al", "SLAMON_OUTCOMES_TOPIC": "o",
        "SLAMON_DEAD_LETTER_TOPIC": "dl", "SLAMON_RETENTION": "1h", "SLAMON_SESSION_TIMEOUT": "6s",
        "SLAMON_LOG_LEVEL": "debug", "SLAMON_LOG_FORMAT": "console",
        "SLAMON_REPLICATION_FACTOR": "3", "SLAMON_MIN_INSYNC_REPLICAS": "2",
        "SLAMON_STANDBYS": "2",
    }  # fmt: skip
    result = CliRunner().invoke(main, ["worker"], env=env)
    assert result.exit_code == 0, result.output
    [(settings, _)] = started
    assert settings == WorkerSettings(
        broker="kafka://k1:9093", app_id="a", web_host="0.0.0.0", web_port=7001,
        data_dir_override=tmp_path / "d", store="memory://", partitions=3, replication=3,
        min_insync_replicas=2, standbys=2, topics=Topics("e", "al", "o", "dl"),
        retention_s=3600.0, session_timeout_s=6.0, log_level="debug", log_json=False,
    )  # fmt: skip
    assert settings.data_dir == tmp_path / "d"


def test_worker_data_dir_follows_the_web_port(
    started: list[tuple[WorkerSettings, SlaPolicy]],
) -> None:
    """Without --data-dir, two workers on other web ports get their own var/slamon-<port>."""
    result = CliRunner().invoke(main, ["worker", "--web-port", "7002"])
    assert result.exit_code == 0, result.output
    assert started[0][0].data_dir == Path("var/slamon-7002")


def test_every_worker_option_has_an_env_var() -> None:
    """Every `worker` option reads SLAMON_<OPTION NAME> (12-factor), --policy included; the
    repeatable URL options read a comma-separated list, SLAMON_<OPTION NAME>_URLS."""
    command = main.commands["worker"]
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert len(options) == 36  # 23 + the 8 --kafka-* security options + 5 on-call options
    lists = {"--alertmanager", "--webhook"}
    for option in options:
        flag = option.opts[0]
        name = "SLAMON_" + flag.removeprefix("--").replace("-", "_").upper()
        assert option.envvar == (name + "_URLS" if flag in lists else name)


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    """This interpreter in a fresh process: nothing imported by earlier tests."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_cli_does_not_import_faust_or_kafka() -> None:
    """`import slamon.cli` (all --help needs) leaves faust and aiokafka unimported."""
    code = "import sys, slamon.cli; print([m for m in ('faust', 'aiokafka') if m in sys.modules])"
    proc = run_python("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_python_dash_m_slamon_cli_runs_the_cli() -> None:
    """`python -m slamon.cli worker --help` works (integration tests and benchmarks use it)."""
    proc = run_python("-m", "slamon.cli", "worker", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: slamon worker")


def test_a_worker_that_cannot_start_says_why_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A start-up error (say, a topic with the wrong partition count) is one line, exit 1."""
    from slamon.bootstrap import StartupError  # noqa: PLC0415

    def refuse(settings: WorkerSettings, policy: SlaPolicy) -> None:
        raise StartupError("topic x has 2 partitions but this app needs 4")

    monkeypatch.setattr("slamon.bootstrap.run_worker", refuse)
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: worker cannot start: topic x has 2 partitions but this app needs 4\n"
    )


def test_replay_output_files_exist_even_when_empty(tmp_path: Path) -> None:
    """--invalid on a clean log gives an empty file, not a missing one (scripts test for it)."""
    log = tmp_path / "one.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in _one_ticket()))
    invalid, alerts = tmp_path / "invalid.jsonl", tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(
        main, ["replay", str(log), "--invalid", str(invalid), "--alerts", str(alerts)]
    )
    assert result.exit_code == 0, result.output
    assert invalid.read_bytes() == b""
    assert alerts.exists()


def _one_ticket() -> list[bytes]:
    log = EventLog()
    log.created("T-1", at(0))
    log.add("ticket.responded", "T-1", at(1))
    return log.lines()


def test_version_names_the_package_version_and_the_core_build() -> None:
    """``--version``: the installed package's version (pyproject takes it from
    ``slamon.__version__``) and which core runs (pure in an editable install)."""
    from importlib.metadata import version  # noqa: PLC0415  (what pip recorded)

    from slamon.core import build  # noqa: PLC0415

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"slamon {version('slamon')} (core: {build()})\n"
    assert build() in ("pure Python", "compiled by mypyc")
