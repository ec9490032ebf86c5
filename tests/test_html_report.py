"""`slamon report --html`: the figures behind it, a self-contained file, and a real browser.

The browser tests open the report in Debian's headless Chromium (``.ci/run`` installs it;
elsewhere they are skipped when it is missing), read the rendered DOM and decode the
screenshot (PNG, by hand with zlib) to check that the charts are drawn.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from slamon.cli import main
from slamon.core.decisions import Outcome, Status
from slamon.core.reportdata import SHARE_LABELS, daily_compliance, target_shares, top_breaches
from slamon.htmlreport import render_html
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.testing import EventLog, at, small_policy

EXAMPLE = Path(__file__).parent.parent / "examples" / "tickets.jsonl"
MINUTE = 60 * 10**9
CHROMIUM = shutil.which("chromium")


def outcome(ticket: str, status: Status, elapsed_m: float, target_m: float = 10,
            sla: str = "first_response", priority: str = "P1") -> Outcome:  # fmt: skip
    return Outcome(ticket, sla, priority, status, int(elapsed_m * MINUTE), int(target_m * MINUTE),
                   None, status != Status.OPEN)  # fmt: skip


def test_daily_compliance_by_creation_day_and_priority() -> None:
    """Day 1: T1 (P1) responded in time, breached its resolution; day 2: T2 (P1) met."""
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(5))
    log.add("ticket.resolved", "T1", at(200))
    log.created("T2", at(24 * 60), priority="P1")
    log.add("ticket.responded", "T2", at(24 * 60 + 1))
    log.add("ticket.resolved", "T2", at(24 * 60 + 2))
    result = replay(log.lines(), small_policy())
    days = daily_compliance(result.outcomes, result.folds)
    assert list(days) == ["2026-11-23", "2026-11-24"]
    assert days["2026-11-23"]["P1"] == {"met": 1, "breached": 1, "compliance": 0.5}
    assert days["2026-11-24"]["P1"] == {"met": 2, "breached": 0, "compliance": 1.0}
    assert days["2026-11-24"]["P2"] == {"met": 0, "breached": 0, "compliance": None}


def test_target_shares_put_an_edge_in_the_lower_bucket() -> None:
    """Exactly the target is 75-100%; just over is 100-150%; open clocks are left out."""
    counts = target_shares([outcome("A", Status.MET, 10), outcome("B", Status.BREACHED, 10.5),
                            outcome("C", Status.MET, 2.5), outcome("D", Status.OPEN, 1),
                            outcome("E", Status.BREACHED, 30)], "first_response")  # fmt: skip
    assert dict(zip(SHARE_LABELS, counts["P1"], strict=True)) == {
        "<=25%": 1, "25-50%": 0, "50-75%": 0, "75-100%": 1, "100-150%": 1, "150-200%": 0,
        ">200%": 1}  # fmt: skip


def test_top_breaches_are_the_furthest_past_target() -> None:
    """Largest overshoot first; ties by ticket id."""
    found = top_breaches([outcome("A", Status.BREACHED, 12), outcome("B", Status.BREACHED, 30),
                          outcome("C", Status.BREACHED, 12), outcome("D", Status.MET, 5)],
                         limit=2)  # fmt: skip
    assert [o.ticket_id for o in found] == ["B", "A"]


def hostile_log() -> EventLog:
    log = EventLog()
    log.created("<script>alert(1)</script>", at(0), priority="P1", region="<b>north</b>")
    log.created("T-2", at(0), priority="P2", product_category="car")
    log.add("survey.submitted", "T-2", at(30), {"score": 9})
    return log


def test_the_html_is_self_contained_and_escapes_the_log() -> None:
    """No external resource (only the SVG namespaces name a URL), log text escaped, and
    the same log gives the same bytes (stable chart ids)."""
    policy = small_policy()
    text = render_html(replay(hostile_log().lines(), policy, by=("region",)), policy, ("region",))
    urls = set(re.findall(r"https?://[^\"' )]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", text)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;north&lt;/b&gt;" in text
    again = render_html(replay(hostile_log().lines(), policy, by=("region",)), policy, ("region",))
    assert again == text


def test_cli_writes_the_report(tmp_path: Path) -> None:
    """slamon report EVENTS --html OUT --by region writes one file with the breakdown."""
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(EXAMPLE), "--html", str(out), "--by",
                                       "region"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<h2>Breakdown by region</h2>" in text
    assert text.count('class="pygal-chart"') == 4


# -- in a real browser ------------------------------------------------------------------
def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", *args],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip


@pytest.fixture(scope="module")
def example_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    policy = load_policy_or_default(None)
    by = ("region", "technician")
    path.write_text(render_html(replay(EXAMPLE.read_bytes().splitlines(), policy, by=by),
                                policy, by), encoding="utf-8")  # fmt: skip
    return path


def test_browser_renders_the_charts_with_their_data(example_report: Path) -> None:
    """The DOM after loading: four pygal charts, bars and lines with data, the tables; no
    console message (an error would be logged as CONSOLE)."""
    done = chromium("--dump-dom", example_report.as_uri())
    dom = done.stdout
    assert dom.count('class="pygal-chart"') == 4
    assert len(re.findall(r'<rect[^>]*class="rect reactive tooltip-trigger"', dom)) > 40
    assert len(re.findall(r'<path[^>]*class="line reactive', dom)) == 4  # P1..P4 trend
    assert "<h2>Top breached tickets</h2>" in dom
    assert "CONSOLE" not in done.stderr


def png_rows(data: bytes, last_row: int) -> tuple[int, int, list[bytes]]:
    """Width, bytes per pixel and the unfiltered rows 0..last_row of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            assert color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(min(height, last_row + 1)):
        start = y * (stride + 1)
        filt, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if filt == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif filt == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, bpp, rows


def test_browser_screenshot_shows_the_charts(example_report: Path, tmp_path: Path) -> None:
    """Screenshot at 1280x2000: the first bar chart's band (y 700-950) holds many non-white
    pixels in several colours, the P1..P4 series colours among them; the page margin is white."""
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2000", example_report.as_uri())
    width, bpp, rows = png_rows(shot.read_bytes(), 950)
    assert width == 1280
    band = [tuple(row[x * bpp : x * bpp + 3]) for row in rows[700:950:5] for x in range(0, 1100, 3)]
    inked = [p for p in band if p != (255, 255, 255)]
    assert len(inked) > len(band) // 20
    assert len(set(inked)) > 10
    assert tuple(rows[5][:3]) == (255, 255, 255)  # the top-left corner: the page background


def test_the_committed_sample_is_the_example_logs_report() -> None:
    """docs/report-example.html is what `slamon report` writes for the example log today."""
    sample = Path(__file__).parent.parent / "docs" / "report-example.html"
    policy = load_policy_or_default(None)
    by = ("region", "product_category", "customer_tier")
    result = replay(EXAMPLE.read_bytes().splitlines(), policy, by=by)
    assert render_html(result, policy, by, source="tickets.jsonl") == sample.read_text(
        encoding="utf-8"
    ), (
        "regenerate: slamon report examples/tickets.jsonl --html docs/report-example.html "
        "--by region --by product_category --by customer_tier"
    )


def test_pygal_leaves_no_finder_behind() -> None:
    """pygal's map-plugin finder (no find_spec) is taken out of sys.meta_path: with it, every
    later failed import warns, an error under this suite's warning filter."""
    import sys  # noqa: PLC0415

    import slamon.htmlreport  # noqa: F401, PLC0415

    assert [f for f in sys.meta_path if type(f).__module__ == "pygal"] == []
