"""`slamon policy check` with terms and official holidays, `--events`, `replay --by terms`."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from slamon.cli import main
from slamon.testing import EventLog, at

DEFAULT = Path(__file__).parents[1] / "src/slamon/data/default-policy.yaml"
CN_POLICY = """apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: cn}
spec:
  calendars:
    office:
      timezone: Asia/Shanghai
      weekly: {mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"],
               thu: ["09:00-18:00"], fri: ["09:00-18:00"]}
      holidays: {country: CN, years: 2026}
      workday: mon
  priorities:
    P1: {first_response: 5m, onsite_arrival: 4h, resolution: 8h}
    P2: {first_response: 15m, onsite_arrival: 8h, resolution: 24h}
    P3: {calendar: office, first_response: 1h, onsite_arrival: 8h, resolution: 24h}
    P4: {calendar: office, first_response: 4h, onsite_arrival: 24h, resolution: 48h}
"""


def test_policy_check_lists_the_default_terms() -> None:
    """The bundled policy's gold entry: what it matches, the priorities it sets, the rest."""
    result = CliRunner().invoke(main, ["policy", "check", str(DEFAULT)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  1. gold: customer_tier in [gold]" in lines
    assert "       P1 on 24x7: first_response 5m, onsite_arrival 2h, resolution 6h" in lines
    assert "       P4: as spec.priorities" in lines
    assert "calendar office: Asia/Shanghai, 14 holidays (2026-10-01..2027-05-05)" in lines


def test_policy_check_events_lists_each_tickets_terms(tmp_path: Path) -> None:
    """--events: a count per terms, then each created ticket with its terms as of its last
    event (T-2 upgraded to gold by ticket.updated); orphans are not listed."""
    log = EventLog()
    log.created("T-1", at(0), "P1", customer_tier="gold")
    log.created("T-2", at(0), "P2", customer_tier="standard")
    log.created("T-3", at(0), "P3")
    log.add("ticket.updated", "T-2", at(5), {"customer_tier": "gold"})
    log.add("ticket.responded", "T-9", at(6))
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(log.lines()) + b"\n")
    result = CliRunner().invoke(main, ["policy", "check", str(DEFAULT), "--events", str(events)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("tickets by terms: gold 2, (spec.priorities) 1")
    assert lines[start + 1 :] == ["T-1\tgold", "T-2\tgold", "T-3\t(spec.priorities)"]


def test_policy_check_shows_official_holidays_and_make_up_workdays(tmp_path: Path) -> None:
    """China 2026 from chinese-calendar: holidays and make-up workdays, counted, with range."""
    policy = tmp_path / "cn.yaml"
    policy.write_text(CN_POLICY)
    result = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("calendar office:"))
    assert "make-up workdays (2026-01-04..2026-10-10)" in line


def test_policy_check_refuses_uncovered_years_with_file_and_line(tmp_path: Path) -> None:
    """Years past the data: exit 2 (bad input), the file, line, calendar and years named."""
    policy = tmp_path / "cn.yaml"
    policy.write_text(CN_POLICY.replace("years: 2026", "years: 2026-2027"))
    result = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert result.exit_code != 0
    assert f"{policy}:10: spec.calendars.office.holidays.years: calendar 'office'" in result.output
    assert "not 2027" in result.output


def test_replay_by_terms_and_records_carry_the_name(tmp_path: Path) -> None:
    """replay --by terms under the default policy: gold and (none) groups; a gold ticket's
    outcome records end with "terms":"gold", the others have no terms field."""
    log = EventLog()
    log.created("T-1", at(0), "P1", customer_tier="gold")
    log.created("T-2", at(0), "P1")
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(log.lines()) + b"\n")
    report, outcomes = tmp_path / "r.json", tmp_path / "o.jsonl"
    result = CliRunner().invoke(main, ["replay", str(events), "--by", "terms", "--report",
                                       str(report), "--outcomes", str(outcomes)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(orjson.loads(report.read_bytes())["breakdowns"]["terms"]) == ["(none)", "gold"]
    records = [orjson.loads(line) for line in outcomes.read_bytes().splitlines()]
    assert {r["ticket_id"]: r.get("terms") for r in records} == {"T-1": "gold", "T-2": None}
    assert list(records[0])[-1] == "terms"


def test_policy_check_shows_an_entrys_own_objectives(tmp_path: Path) -> None:
    """An entry's objective differing from spec.priorities' is printed under its targets;
    the SLAs its mapping leaves out keep the priority's default (99% for P1)."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: slamon/v1\nkind: SlaPolicy\nmetadata: {name: t}\nspec:\n  priorities:\n"
        + "".join(f"    P{i}: {{first_response: 5m, onsite_arrival: 4h, resolution: 8h}}\n"
                  for i in range(1, 5))
        + "  terms:\n    - name: gold\n      match: {customer_tier: [gold]}\n"
        "      priorities:\n        P1: {onsite_arrival: 2h, objective: {onsite_arrival: 0.995}}\n"
    )  # fmt: skip
    result = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    want = "          objective: first_response 99%, onsite_arrival 99.5%, resolution 99%"
    assert want in result.stdout.splitlines()
