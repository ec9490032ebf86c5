"""`slamon replay` on hostile logs: exit 0, every bad line counted invalid, every output written.

The probe that motivated it: year 0000, 0001+23:59, 9999 with a P2 deadline in year 10000,
office-calendar tickets near year 1 or 9999 made replay exit 1 with a traceback while
writing --alerts, so --report and --invalid were never written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from slamon.cli import main
from slamon.testing import at

RANGE = "is outside the supported range 1970-01-01T00:00:00Z..2200-01-01T00:00:00Z"
OUTPUTS = ("alerts", "outcomes", "report", "invalid")


def created(ticket: str, time: str, priority: str, **data: Any) -> bytes:
    return orjson.dumps(
        {"specversion": "1.0", "id": f"{ticket[:20]}-c{len(ticket)}", "source": "/probe",
         "type": "ticket.created", "subject": ticket, "time": time,
         "data": {"priority": priority, **data}}
    )  # fmt: skip


def event(ticket: str, etype: str, time: str, n: int = 1) -> bytes:
    return orjson.dumps(
        {"specversion": "1.0", "id": f"{ticket}-{n}", "source": "/probe", "type": etype,
         "subject": ticket, "time": time}
    )  # fmt: skip


GOOD = [
    created("G1", at(0), "P1", service="onsite"),
    event("G1", "ticket.responded", at(3)),
    created("G2", at(10), "P3"),
    event("G1", "technician.arrived", at(200), 2),
    event("G1", "ticket.resolved", at(300), 3),
    created("G3", at(20), "P2"),
]
# (line, the start of its reason)
HOSTILE = [
    (created("H0", "0000-01-01T00:00:00Z", "P2"), f"time: 0000-01-01T00:00:00Z {RANGE}"),
    (created("H1", "0001-01-01T00:00:00+23:59", "P2"), f"time: 0001-01-01T00:00:00+23:59 {RANGE}"),
    (created("H9", "9999-12-31T23:00:00Z", "P2"), f"time: 9999-12-31T23:00:00Z {RANGE}"),
    (created("O1", "0001-01-02T09:00:00+08:00", "P3"), f"time: 0001-01-02T09:00:00+08:00 {RANGE}"),
    (created("O9", "9999-12-30T09:00:00+08:00", "P4"), f"time: 9999-12-30T09:00:00+08:00 {RANGE}"),
    (event("G2", "ticket.responded", "9999-12-31T23:59:59Z"), "time: 9999-12-31T23:59:59Z"),
    (created("F", at(1).replace(".000Z", ".1234567890Z"), "P1"), "time: more than 9 fractional"),
    (created("A", "\u0662\u0660\u0662\u0666-11-23T08:00:00Z", "P1"), "time: not an RFC 3339"),
    (b'{"specversion": "1.0", "id": NaN}', "not valid JSON: NaN and Infinity"),
    (b'{"id": "\xff\xfe"}', "not valid JSON: invalid UTF-8 at byte 8"),
    (created("T" * 201, at(0), "P1"), "subject is 201 characters, more than 200"),
    (created("R", at(0), "P1", region="customer@example.com " * 20_000),
     "record of 420"),  # > 256 KiB: by size, before parsing
    (created("R2", at(0), "P1", region="customer@example.com " * 100),
     "data.region is 2100 characters, more than 200"),
    (created("P", at(0), ["P1"]),  # type: ignore[arg-type]  # a list, on purpose
     "data.priority must be one of P1, P2, P3, P4, got ['P1']"),
]  # fmt: skip


def run(tmp_path: Path, lines: list[bytes], name: str) -> tuple[Any, dict[str, Any]]:
    log = tmp_path / f"{name}.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")
    args = ["replay", str(log), "--no-progress"]
    for output in OUTPUTS:
        args += [f"--{output}", str(tmp_path / f"{name}.{output}")]
    result = CliRunner().invoke(main, args)
    files = {}
    for output in OUTPUTS:
        path = tmp_path / f"{name}.{output}"
        # click opens an output file lazily: a JSONL output with no record is not created
        raw = path.read_bytes() if output == "report" or path.exists() else b""
        files[output] = orjson.loads(raw) if output == "report" else [
            orjson.loads(x) for x in raw.splitlines()]  # fmt: skip
    return result, files


def test_a_log_mixing_hostile_and_good_lines_replays_cleanly(tmp_path: Path) -> None:
    """Exit 0; each hostile line invalid with its reason; all four outputs written; the good
    tickets' outcomes and alerts are those of the good lines alone."""
    mixed: list[bytes] = []
    for i, good in enumerate(GOOD):
        mixed.append(good)
        mixed.extend(bad for bad, _ in HOSTILE[i :: len(GOOD)])
    result, files = run(tmp_path, mixed, "mixed")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    invalid = files["invalid"]
    assert len(invalid) == len(HOSTILE)
    by_line = {item["line"]: item["reason"] for item in invalid}
    for lineno, raw in enumerate(mixed, start=1):
        expected = next((reason for bad, reason in HOSTILE if bad is raw), None)
        if expected is None:
            assert lineno not in by_line
        else:
            assert by_line[lineno].startswith(expected), (lineno, by_line[lineno])
            assert 0 < len(by_line[lineno]) <= 200
            assert by_line[lineno].count("customer@example.com") <= 1
    assert files["report"]["events"] == {
        "processed": len(GOOD), "invalid": len(HOSTILE), "duplicates": 0, "orphans": 0
    }  # fmt: skip
    alone_result, alone = run(tmp_path, GOOD, "good")
    assert alone_result.exit_code == 0, alone_result.output
    assert files["outcomes"] == alone["outcomes"]
    assert files["alerts"] == alone["alerts"]
    assert files["report"]["slas"] == alone["report"]["slas"]
    assert {o["ticket_id"] for o in files["outcomes"]} == {"G1", "G2", "G3"}
    assert f"mixed.jsonl:2: invalid event: time: 0000-01-01T00:00:00Z {RANGE}" in result.stderr


def test_the_edges_of_the_range_replay_with_deadlines_past_2199(tmp_path: Path) -> None:
    """The first and last supported instants, on 24x7 and office calendars: exit 0, and the
    deadlines beyond 2200 (a P4 office ticket created on 2199-12-31) are written."""
    lines = [
        created("E1", "1970-01-01T00:00:00Z", "P2"),
        created("E2", "1970-01-01T00:00:00Z", "P4"),
        created("E3", "2199-12-31T23:59:59.999999999Z", "P2"),
        created("E4", "2199-12-31T23:59:59.999999999Z", "P4"),
    ]
    result, files = run(tmp_path, lines, "edges")
    assert result.exit_code == 0, result.output
    assert files["invalid"] == []
    assert files["report"]["until"] == "2199-12-31T23:59:59.999999999Z"
    deadlines = {(o["ticket_id"], o["sla"]): o["deadline"] for o in files["outcomes"]}
    assert deadlines["E3", "resolution"] == "2200-01-01T23:59:59.999999999Z"
    assert deadlines["E4", "resolution"] > "2200-01-02"
    assert deadlines["E4", "resolution"] < "2200-02"
    assert any(a["ticket_id"] == "E1" for a in files["alerts"])
