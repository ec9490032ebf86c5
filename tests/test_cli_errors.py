"""What a user sees when a command cannot do its job: one line saying why, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from slamon.cli import main
from slamon.testing import EventLog, at
from tests.integration.harness import free_port

BOUND_S = 30.0  # a refused connection is immediate: this only bounds a hang


def slamon(*args: str) -> subprocess.CompletedProcess[str]:
    """`slamon ARGS` in a fresh process, as a user's shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "slamon.cli", *args],
        capture_output=True, text=True, timeout=BOUND_S, check=False,
    )  # fmt: skip


def error_line(stderr: str) -> str:
    """The one ``Error:`` line of ``stderr``; fails if there is a traceback or another one."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_generate_with_a_start_that_is_not_a_timestamp_says_the_format() -> None:
    """`generate --start yesterday`: a usage error (exit 2) naming the value and the format."""
    proc = slamon("generate", "--start", "yesterday")
    assert proc.returncode == 2
    line = error_line(proc.stderr)
    for part in ("'--start'", "'yesterday'", "RFC 3339", "2026-11-02T08:00:00Z"):
        assert part in line
    assert proc.stdout == ""


def test_worker_with_an_unknown_log_level_lists_the_levels() -> None:
    """`worker --log-level verbose`: a usage error listing the choices; no broker contacted."""
    proc = slamon("worker", "--log-level", "verbose")
    assert proc.returncode == 2
    line = error_line(proc.stderr)
    assert "'verbose' is not one of 'debug', 'info', 'warning', 'error'" in line


def test_log_levels_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    """SLAMON_LOG_LEVEL=WARNING is the level warning (environments often upper-case it)."""
    levels: list[str] = []
    monkeypatch.setattr("slamon.bootstrap.run_worker", lambda s, _p: levels.append(s.log_level))
    result = CliRunner().invoke(main, ["worker"], env={"SLAMON_LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output
    assert levels == ["warning"]


@pytest.mark.parametrize("command", ["publish", "worker"])
def test_an_unreachable_broker_is_one_line_naming_it_and_what_to_check(
    command: str, tmp_path: Path
) -> None:
    """Nothing listens on the port: exit 1, one line with the address, the cause and the
    option to check; nothing else on stderr (no traceback, no aiokafka log records)."""
    broker = f"127.0.0.1:{free_port()}"  # bound, then closed: connections are refused
    events = tmp_path / "events.jsonl"
    log = EventLog()
    log.created("T-1", at(0))
    events.write_bytes(b"\n".join(log.lines()) + b"\n")
    args = {
        "publish": ["publish", str(events)],
        "worker": ["worker", "--store", "memory://", "--data-dir", str(tmp_path / "data")],
    }[command]
    proc = slamon(*args, "--broker", broker)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [error_line(proc.stderr)]
    line = proc.stderr.strip()
    assert f"cannot reach Kafka at {broker}: connection refused" in line
    assert "--broker or SLAMON_BROKER" in line


def all_commands() -> list[tuple[str, click.Command]]:
    """Every command under `slamon`, by its full name, groups included."""
    found: list[tuple[str, click.Command]] = []

    def walk(name: str, command: click.Command) -> None:
        found.append((name, command))
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                walk(f"{name} {sub_name}", sub)

    walk("slamon", main)
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(), ids=str)
def test_every_option_has_help_and_shows_its_environment_variable(
    name: str, command: click.Command
) -> None:
    """Each option of each command says what it does in --help, and names its SLAMON_*
    variable there when it reads one."""
    ctx = click.Context(command, info_name=name)
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        record = param.get_help_record(ctx)
        assert param.help, f"{name} {param.opts[0]} has no help"
        assert record is not None
        if param.envvar:
            assert f"env var: {param.envvar}" in record[1], f"{name} {param.opts[0]}"


GROUPS = [name for name, command in all_commands() if isinstance(command, click.Group)]


@pytest.mark.parametrize("group", GROUPS)
def test_command_lists_give_each_command_s_first_sentence_whole(group: str) -> None:
    """`slamon --help` (and `slamon policy --help`) at 80 columns: no description cut
    with "...", each the first sentence of the command's help, wrapped if need be."""
    args = group.split()[1:]
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    listing = result.stdout.split("Commands:\n", 1)[1]
    assert "..." not in listing
    flat = " ".join(listing.split())
    command = dict(all_commands())[group]
    assert isinstance(command, click.Group)
    for sub in command.commands.values():
        first = (sub.help or "").split("\n\n")[0]
        sentence = " ".join(first.split()).split(". ")[0].rstrip(".")
        assert sentence in flat, sentence


def test_connection_failures_say_what_to_check() -> None:
    """Refused, unknown host, no answer: each names its cause and where the address is set."""
    from slamon.adapters.kafka import PLAINTEXT, explain  # noqa: PLC0415

    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")
    unknown = socket.gaierror(-2, "Name or service not known")
    hint = "(the address is --broker or SLAMON_BROKER)"
    reasons = [explain(e, PLAINTEXT) for e in (refused, unknown, TimeoutError())]
    assert reasons == [
        f"connection refused: is a broker running there? {hint}",
        f"unknown host: Name or service not known {hint}",
        f"no answer in time: is that a Kafka listener? {hint}",
    ]
