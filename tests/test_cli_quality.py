"""`slamon replay --by DIM` and the quality block of the terminal summary."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from slamon.cli import main
from slamon.testing import EventLog, at


def quality_log(path: Path) -> Path:
    """A (north, car, tech t1, asset X) resolved, then B (no region, same asset) within the
    default 30 days: a repeat failure; B has a complaint; A a survey of 9."""
    log = EventLog()
    log.created("T-A", at(0), region="north", product_category="car", asset_id="X",
                customer_tier="gold")  # fmt: skip
    log.add("technician.dispatched", "T-A", at(1), {"technician_id": "t1"})
    log.add("ticket.resolved", "T-A", at(30), {"technician_id": "t9"})
    log.add("survey.submitted", "T-A", at(40), {"score": 9})
    log.created("T-B", at(60), asset_id="X")
    log.add("complaint.filed", "T-B", at(61), {"reason": "the engineer was late"})
    path.write_bytes(b"\n".join(log.lines()) + b"\n")
    return path


def test_by_adds_breakdowns_with_none_for_missing_values(tmp_path: Path) -> None:
    """--by region --by technician: T-A under north / t1 (dispatched beats resolved),
    T-B under (none) in both; each group's quality over its own tickets."""
    events = quality_log(tmp_path / "e.jsonl")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["replay", str(events), "--by", "region", "--by",
                                       "technician", "--report", str(report_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = orjson.loads(report_path.read_bytes())
    assert set(report["breakdowns"]) == {"region", "technician"}
    region = report["breakdowns"]["region"]
    assert set(region) == {"north", "(none)"}
    assert set(report["breakdowns"]["technician"]) == {"t1", "(none)"}
    assert region["north"]["quality"]["repeat_failure_rate"] == 1.0  # T-B is in another group
    assert region["north"]["quality"]["csat_by_category"]["car"]["mean"] == 9.0
    assert region["(none)"]["quality"]["complaint_rate"] == 1.0
    assert region["(none)"]["slas"]["P2"]["first_response"]["count"] == 1
    assert report["quality"]["tickets"] == 2
    assert report["quality"]["repair_rate"] == 0.5


def test_without_by_the_report_has_no_breakdowns(tmp_path: Path) -> None:
    """The report's shape is unchanged unless --by is given."""
    events = quality_log(tmp_path / "e.jsonl")
    result = CliRunner().invoke(main, ["replay", str(events), "--report", "-"])
    assert result.exit_code == 0, result.output
    assert "breakdowns" not in orjson.loads(result.stdout)


def test_by_refuses_an_unknown_dimension(tmp_path: Path) -> None:
    """DIM is one of the five dimensions; anything else is a usage error."""
    events = quality_log(tmp_path / "e.jsonl")
    result = CliRunner().invoke(main, ["replay", str(events), "--by", "asset_id"])
    assert result.exit_code == 2
    assert "'asset_id' is not one of" in result.output


def test_summary_shows_the_new_figures_within_100_columns_and_no_customer_data(
    tmp_path: Path,
) -> None:
    """The quality and CSAT tables are in the summary, each line at most 100 columns, and
    neither ticket ids, technicians, regions, tiers, assets nor complaint reasons appear."""
    events = quality_log(tmp_path / "e.jsonl")
    result = CliRunner().invoke(main, ["replay", str(events), "--by", "technician"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 100
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines()}
    assert rows["repair rate"][2] == "50.0%"
    assert rows["repeat failure rate"][3] == "100.0%"
    assert rows["complaint rate"][2] == "50.0%"
    assert rows["complaint resolution"][2] == "0.0%"
    assert rows["car"] == ["car", "9.00", "1", "8.20", "+0.80"]
    assert "breakdowns by technician (2): in the report (--report FILE)" in out
    for secret in ("T-A", "T-B", "t1", "north", "gold", "late"):
        assert secret not in out
    assert " X " not in out
