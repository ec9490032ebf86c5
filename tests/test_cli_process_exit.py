"""The `slamon` script leaves without freeing a replay's objects, and loses no output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import orjson
import pytest

from slamon.cli import process_exit

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tickets.jsonl"

# a kept object that says when it is freed, run through the entry point or Click alone
_PROBE = """
import os, sys, click
from slamon.cli import process_exit

class Noisy:
    def __del__(self):
        sys.stdout.write("freed\\n")

@click.command()
def cmd():
    process_exit.keep(Noisy())
    click.echo("done")

if os.environ["PROBE_HOW"] == "run":
    process_exit.run(cmd)
cmd(prog_name="probe")
"""


def _probe(how: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBE_HOW": how}
    return subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=60, check=False, env=env)  # fmt: skip


def test_a_kept_result_is_not_freed_when_the_script_exits() -> None:
    """Through `run` the kept object is never torn down (no `freed`), yet everything the
    command printed arrives and the status is 0; `keep` outside `run` keeps nothing, so
    the object is freed at once, before the command's output."""
    fast = _probe("run")
    assert (fast.returncode, fast.stdout) == (0, "done\n"), fast.stderr
    plain = _probe("click")
    assert (plain.returncode, plain.stdout) == (0, "freed\ndone\n"), plain.stderr


def test_keep_outside_the_entry_point_keeps_nothing() -> None:
    """Tests and library callers invoke the Click group: nothing is held past them."""
    process_exit.keep(object())
    assert process_exit._kept == []


@pytest.mark.parametrize(
    ("code", "status", "printed"),
    [(None, 0, ""), (0, 0, ""), (2, 2, ""), ("no events", 1, "no events\n")],
)
def test_the_exit_status_is_what_python_gives_the_same_system_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    code: object, status: int, printed: str,
) -> None:  # fmt: skip
    """None and ints as Python exits with them; a message is printed and exits 1."""
    monkeypatch.setattr(process_exit, "_kept", [])
    monkeypatch.setattr(process_exit, "_armed", False)
    monkeypatch.setattr(sys, "argv", ["slamon"])
    exits: list[int] = []

    def _exit(status: int) -> None:
        exits.append(status)
        raise SystemExit(status)  # os._exit would end the test process

    monkeypatch.setattr(os, "_exit", _exit)

    @click.command()
    def cmd() -> None:
        process_exit.keep("a result")
        raise SystemExit(code)

    with pytest.raises(SystemExit):
        process_exit.run(cmd)
    assert exits == [status]
    assert capsys.readouterr().err == printed


def test_replay_through_the_script_writes_every_output_whole(tmp_path: Path) -> None:
    """`python -m slamon.cli replay` (the script's path) closes its files before leaving:
    the alerts, outcomes and report on disk equal those of a replay in Click alone."""
    outputs = {}
    for how in ("script", "click"):
        out = tmp_path / how
        out.mkdir()
        args = ["replay", str(EXAMPLE), "--alerts", str(out / "alerts.jsonl"), "--outcomes",
                str(out / "outcomes.jsonl"), "--report", str(out / "report.json")]  # fmt: skip
        if how == "script":
            cmd = [sys.executable, "-m", "slamon.cli", *args]
        else:
            cmd = [sys.executable, "-c", "from slamon.cli import main; main()", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        outputs[how] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outputs["script"] == outputs["click"]
    report = orjson.loads(outputs["script"]["report.json"])
    assert report["events"]["processed"] > 0
    assert outputs["script"]["alerts.jsonl"].endswith(b"\n")
