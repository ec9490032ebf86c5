"""What-if: `slamon replay --policy NEW --baseline OLD`, side by side and the flipped pairs.

Baseline: P1 first response 10m (``small_policy``); new: 5m. T1 answered at 8m (met under
the baseline, breached under the new policy), T2 at 3m (met under both).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from slamon.cli import main
from slamon.core.whatif import compare
from slamon.replay import replay
from slamon.testing import EventLog, at, small_policy

TARGETS = {"calendar": "24x7", "first_response": "5m", "onsite_arrival": "1h",
           "resolution": "2h"}  # fmt: skip


def document(name: str, p1_first_response: str) -> dict[str, Any]:
    targets = {p: {"first_response": "1h", "onsite_arrival": "2h", "resolution": "4h"}
               for p in ("P2", "P3", "P4")}  # fmt: skip
    targets["P1"] = {**TARGETS, "first_response": p1_first_response}
    return {"apiVersion": "slamon/v1", "kind": "SlaPolicy", "metadata": {"name": name},
            "spec": {"priorities": targets}}  # fmt: skip


def log() -> EventLog:
    events = EventLog()
    events.created("T1", at(0), priority="P1")
    events.add("ticket.responded", "T1", at(8))
    events.created("T2", at(0), priority="P1")
    events.add("ticket.responded", "T2", at(3))
    return events


def test_compare_hand_computed() -> None:
    """Compliance 100% -> 50% (-0.5), breaches 0 -> 1, p80 unchanged (480 s, rank 2 of 2);
    one flip: T1 first_response met -> breached."""
    base = replay(log().lines(), small_policy())
    priorities = document("new", "5m")["spec"]["priorities"]
    new = replay(log().lines(), small_policy(priorities=priorities))
    result = compare(base.outcomes, new.outcomes, ("old", "new"))
    cell = result["slas"]["P1"]["first_response"]
    assert cell["baseline"] == {"compliance": 1.0, "breached": 0, "p80_seconds": 480.0}
    assert cell["policy"] == {"compliance": 0.5, "breached": 1, "p80_seconds": 480.0}
    assert cell["difference"] == {"compliance": -0.5, "breached": 1, "p80_seconds": 0.0}
    assert result["slas"]["P2"]["resolution"]["difference"] == {
        "compliance": None, "breached": 0, "p80_seconds": None}  # fmt: skip
    assert result["flips"] == [{"ticket_id": "T1", "sla": "first_response", "priority": "P1",
                                "baseline": "met", "policy": "breached"}]  # fmt: skip


def test_same_policy_flips_nothing() -> None:
    """A policy against itself: every difference 0 or null, no flip."""
    outcomes = replay(log().lines(), small_policy()).outcomes
    result = compare(outcomes, outcomes)
    assert result["flips"] == []
    for row in result["slas"].values():
        for cell in row.values():
            assert all(v in (0, None) for v in cell["difference"].values())


def write(tmp_path: Path) -> tuple[Path, Path, Path]:
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(log().lines()))
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_bytes(orjson.dumps(document("old", "10m")))  # JSON is YAML
    new.write_bytes(orjson.dumps(document("new", "5m")))
    return events, old, new


def test_cli_baseline_writes_what_if_and_prints_the_table(tmp_path: Path) -> None:
    """--baseline adds what_if to the report; the summary has the side-by-side table."""
    events, old, new = write(tmp_path)
    report = tmp_path / "r.json"
    args = ["replay", str(events), "--policy", str(new), "--baseline", str(old)]
    result = CliRunner().invoke(main, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    what_if = orjson.loads(report.read_bytes())["what_if"]
    assert (what_if["baseline"], what_if["policy"]) == ("old", "new")
    assert len(what_if["flips"]) == 1
    out = result.stdout
    assert "what if: policy 'new' against baseline 'old'" in out
    row = [line for line in out.splitlines() if line.startswith("P1       first_response")][-1]
    assert row.split()[2:] == ["100.0%", "50.0%", "-50.0", "0", "1", "+1", "0.13h", "0.13h",
                               "+0.00h"]  # fmt: skip
    assert "T1" in out
    assert "met -> breached" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_cli_baseline_needs_a_file(tmp_path: Path) -> None:
    """EVENTS is read twice: a pipe (a real one, from another process) is refused."""
    events, old, new = write(tmp_path)
    args = ["replay", "-", "--policy", str(new), "--baseline", str(old)]
    result = subprocess.run([sys.executable, "-m", "slamon.cli", *args], check=False,
                            input=events.read_bytes(), capture_output=True)  # fmt: skip
    assert result.returncode == 2
    assert b"--baseline reads EVENTS twice" in result.stderr
