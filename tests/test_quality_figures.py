"""The quality figures of issue 11, hand-computed at their edges, and their properties.

Policy: ``small_policy`` (24x7; P2 resolution 4h) with a 1h repeat window unless said
otherwise. Times are minutes after 2026-11-23T08:00Z (``at``).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slamon.core.aggregates import DIMENSIONS, NONE
from slamon.core.policy import DEFAULT_CSAT_BASELINES, PolicyError, policy_from_dict
from slamon.core.timefmt import format_rfc3339, parse_rfc3339
from slamon.testing import EventLog, at, small_policy
from tests.helpers import run_replay

POLICY = small_policy(quality={"repeat_window": "1h"})
NEW = ("repair_rate", "completion_rate", "repeat_failure_rate", "complaint_rate",
       "complaint_resolution_rate")  # fmt: skip


def quality(log: EventLog, **spec: Any) -> dict[str, Any]:
    policy = small_policy(**spec) if spec else POLICY
    result: dict[str, Any] = run_replay(log, policy).result.quality
    return result


def test_every_new_figure_is_null_when_its_denominator_is_0() -> None:
    """Only a cancelled ticket: no tickets, nothing stopped, no asset, no complaint."""
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("complaint.filed", "A", at(1))
    log.add("ticket.resolved", "A", at(2))
    log.add("ticket.cancelled", "A", at(3))
    figures = quality(log)
    assert figures["tickets"] == 0
    assert {key: figures[key] for key in NEW} == dict.fromkeys(NEW)


def test_denominators_0_one_at_a_time() -> None:
    """An open ticket without asset or complaint: repair 0, the other new figures null."""
    log = EventLog()
    log.created("A", at(0))
    figures = quality(log)
    assert figures["repair_rate"] == 0.0
    assert figures["completion_rate"] is None  # no resolution clock stopped
    assert figures["repeat_failure_rate"] is None  # no resolved ticket with an asset
    assert figures["complaint_rate"] == 0.0
    assert figures["complaint_resolution_rate"] is None  # no ticket with a complaint


def test_repair_rate_counts_tickets_resolved_at_t() -> None:
    """A resolved, B resolved then reopened, C open, D cancelled: 1 of A, B, C."""
    log = EventLog()
    for ticket in "ABCD":
        log.created(ticket, at(0))
    log.add("ticket.resolved", "A", at(10))
    log.add("ticket.resolved", "B", at(10))
    log.add("ticket.reopened", "B", at(20))
    log.add("ticket.resolved", "D", at(10))
    log.add("ticket.cancelled", "D", at(30))
    figures = quality(log)
    assert figures["tickets"] == 3
    assert figures["repair_rate"] == 1 / 3


def test_repair_rate_is_evaluated_at_until() -> None:
    """A resolve after --until is not applied: the ticket is not resolved at T."""
    log = EventLog()
    log.created("A", at(0))
    log.add("ticket.resolved", "A", at(10))
    assert run_replay(log, POLICY, until=parse_rfc3339(at(5))).result.quality["repair_rate"] == 0


def test_completion_rate_is_met_over_stopped_resolution_clocks() -> None:
    """P2 resolution 4h: A met (1h), B breached and stopped (5h), C running past its target
    (not stopped: left out), D reopened and running (left out): 1 of A, B."""
    log = EventLog()
    for ticket in "ABCD":
        log.created(ticket, at(0))
    log.add("ticket.resolved", "A", at(60))
    log.add("ticket.resolved", "B", at(300))
    log.add("ticket.resolved", "D", at(30))
    log.add("ticket.reopened", "D", at(40))
    log.add("ticket.responded", "C", at(400))
    assert quality(log)["completion_rate"] == 0.5


def test_repeat_window_is_inclusive_at_r_plus_window_and_exclusive_at_r() -> None:
    """Window 1h; every first ticket resolved at 60m (r).
    X: another ticket created at 120m = r + window -> repeat.
    Y: another created at 60m = r -> not a repeat (the window opens after r).
    W: another created at 120m + 1ns -> not a repeat.
    Resolved tickets with an asset: the first of X, Y, W: 1 of 3."""
    log = EventLog()
    for asset in "XYW":
        log.created(f"{asset}1", at(0), asset_id=asset)
        log.add("ticket.resolved", f"{asset}1", at(60))
    log.created("X2", at(120), asset_id="X")
    log.created("Y2", at(60), asset_id="Y")
    log.created("W2", format_rfc3339(parse_rfc3339(at(120)) + 1), asset_id="W")
    assert quality(log)["repeat_failure_rate"] == 1 / 3


def test_a_reopen_is_not_a_repeat_failure() -> None:
    """Resolved, reopened and resolved again, no other ticket of the asset: 0 of 1."""
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.resolved", "A", at(10))
    log.add("ticket.reopened", "A", at(20))
    log.add("ticket.resolved", "A", at(30))
    figures = quality(log)
    assert figures["repeat_failure_rate"] == 0.0
    assert figures["reopen_rate"] == 1.0  # the reopen counts there


def test_the_window_starts_at_the_last_resolution() -> None:
    """A resolved at 10m, reopened, resolved at 30m; B (same asset) created at 25m lies
    after the first resolution but before the last: not a repeat. A cancelled ticket of
    the asset at 40m is not one either. B is unresolved, so 0 of 1 (A)."""
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.resolved", "A", at(10))
    log.add("ticket.reopened", "A", at(20))
    log.created("B", at(25), asset_id="X")
    log.add("ticket.resolved", "A", at(30))
    log.created("C", at(40), asset_id="X")
    log.add("ticket.cancelled", "C", at(41))
    assert quality(log)["repeat_failure_rate"] == 0.0


def test_a_second_resolve_does_not_move_r() -> None:
    """Resolved at 10m, resolved again at 50m: r stays 10m, so a ticket at 75m is outside
    the 1h window (10m + 60m = 70m)."""
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.resolved", "A", at(10))
    log.add("ticket.resolved", "A", at(50))
    log.created("B", at(75), asset_id="X")
    assert quality(log)["repeat_failure_rate"] == 0.0


def test_repeat_window_defaults_to_30_days_of_wall_time() -> None:
    """With the default window, a ticket of the asset 30 days after r is a repeat."""
    log = EventLog()
    log.created("A", at(0), asset_id="X")
    log.add("ticket.resolved", "A", at(10))
    log.created("B", at(10 + 30 * 24 * 60), asset_id="X")
    log.created("C", at(0), asset_id="Y")
    log.add("ticket.resolved", "C", at(10))
    log.created("D", at(11 + 30 * 24 * 60), asset_id="Y")
    assert run_replay(log, small_policy()).result.quality["repeat_failure_rate"] == 0.5


def test_complaint_rates() -> None:
    """A: 2 filed, 2 resolved (settled); B: 1 filed, none resolved; C: a resolved complaint
    but none filed (no complaint); D: none; E: cancelled with one. Rate 2 of 4 tickets,
    resolution rate 1 of 2."""
    log = EventLog()
    for ticket in "ABCDE":
        log.created(ticket, at(0))
    log.add("complaint.filed", "A", at(1), {"reason": "late"})
    log.add("complaint.filed", "A", at(2))
    log.add("complaint.resolved", "A", at(3))
    log.add("complaint.resolved", "A", at(4))
    log.add("complaint.filed", "B", at(1))
    log.add("complaint.resolved", "C", at(1))
    log.add("complaint.filed", "E", at(1))
    log.add("ticket.cancelled", "E", at(2))
    figures = quality(log)
    assert figures["complaint_rate"] == 0.5
    assert figures["complaint_resolution_rate"] == 0.5


def test_csat_per_category_against_the_default_baselines() -> None:
    """appliance 9 and 7: mean 8, gap -0.5; car: no survey (mean and gap null, baseline kept);
    no category: under (none), no baseline; electronics listed from the baselines."""
    log = EventLog()
    log.created("A", at(0), product_category="appliance")
    log.created("B", at(0), product_category="appliance")
    log.created("C", at(0), product_category="car")
    log.created("D", at(0))
    log.add("survey.submitted", "A", at(5), {"score": 9})
    log.add("survey.submitted", "B", at(5), {"score": 7})
    log.add("survey.submitted", "D", at(5), {"score": 10})
    by = quality(log)["csat_by_category"]
    assert by == {
        NONE: {"mean": 10.0, "count": 1, "baseline": None, "gap": None},
        "appliance": {"mean": 8.0, "count": 2, "baseline": 8.5, "gap": -0.5},
        "car": {"mean": None, "count": 0, "baseline": 8.2, "gap": None},
        "electronics": {"mean": None, "count": 0, "baseline": 8.7, "gap": None},
    }


def test_csat_baselines_from_the_policy_replace_the_defaults() -> None:
    """spec.quality.csat_baselines: only the categories it lists have a baseline."""
    log = EventLog()
    log.created("A", at(0), product_category="drone")
    log.add("survey.submitted", "A", at(5), {"score": 6})
    by = quality(log, quality={"csat_baselines": {"drone": 7}})["csat_by_category"]
    assert by == {"drone": {"mean": 6.0, "count": 1, "baseline": 7.0, "gap": -1.0}}


def test_policy_quality_defaults_and_errors() -> None:
    """Defaults: 30d and the standard's baselines; bad values name their field."""
    policy = small_policy()
    assert policy.quality.repeat_window_ns == 30 * 24 * 3600 * 10**9
    assert dict(policy.quality.csat_baselines) == DEFAULT_CSAT_BASELINES == {
        "appliance": 8.5, "car": 8.2, "electronics": 8.7}  # fmt: skip
    cases = [
        ({"repeat_window": "soon"}, "spec.quality.repeat_window"),
        ({"csat_baselines": {"car": 11}}, "spec.quality.csat_baselines.car"),
        ({"csat_baselines": {"car": True}}, "spec.quality.csat_baselines.car"),
        ({"csat_baselines": []}, "spec.quality.csat_baselines"),
        ({"window": "1d"}, "spec.quality.window"),
    ]
    for spec, where in cases:
        with pytest.raises(PolicyError) as caught:
            small_policy(quality=spec)
        assert ".".join(caught.value.path) == where


def test_policy_without_quality_still_loads() -> None:
    """A policy written before spec.quality existed is valid as it is."""
    targets = {"first_response": "1h", "onsite_arrival": "2h", "resolution": "4h"}
    spec = {"priorities": dict.fromkeys(("P1", "P2", "P3", "P4"), targets)}
    document = {"apiVersion": "slamon/v1", "kind": "SlaPolicy", "metadata": {"name": "old"},
                "spec": spec}  # fmt: skip
    assert policy_from_dict(document).quality.repeat_window_ns == 30 * 24 * 3600 * 10**9


# -- properties ------------------------------------------------------------------------
KINDS = ["ticket.responded", "technician.dispatched", "technician.arrived", "ticket.paused",
         "ticket.resumed", "ticket.priority_changed", "ticket.resolved", "ticket.reopened",
         "ticket.cancelled", "survey.submitted", "complaint.filed",
         "complaint.resolved"]  # fmt: skip
MAYBE = st.one_of(st.none(), st.sampled_from(["a", "b"]))


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to five tickets over two assets, each event at its own instant (no ties, so the
    sorted order does not depend on the line order)."""
    items: list[dict[str, Any]] = []
    for ticket in "ABCDE"[: draw(st.integers(1, 5))]:
        data = {"priority": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
                "service": draw(st.sampled_from(["onsite", "remote"])),
                "asset_id": draw(st.one_of(st.none(), st.sampled_from(["X", "Y"]))),
                "product_category": draw(st.one_of(st.none(), st.sampled_from(["car", "drone"]))),
                "region": draw(MAYBE), "customer_tier": draw(MAYBE)}  # fmt: skip
        items.append({"type": "ticket.created", "ticket": ticket,
                      "minute": draw(st.integers(0, 120)),
                      "data": {k: v for k, v in data.items() if v is not None}})  # fmt: skip
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(KINDS))
            extra: dict[str, Any] = {}
            if kind == "survey.submitted":
                extra["score"] = draw(st.integers(1, 10))
            elif kind == "ticket.priority_changed":
                extra["priority"] = draw(st.sampled_from(["P1", "P4"]))
            elif kind in ("technician.dispatched", "technician.arrived", "ticket.resolved"):
                tech = draw(st.one_of(st.none(), st.sampled_from(["t1", "t2"])))
                extra = {} if tech is None else {"technician_id": tech}
            items.append({"type": kind, "ticket": ticket, "minute": draw(st.integers(0, 600)),
                          "data": extra})  # fmt: skip
    return items


def lines_of(items: list[dict[str, Any]]) -> list[bytes]:
    base = parse_rfc3339(at(0))
    return [
        orjson.dumps({"specversion": "1.0", "id": f"e{i}", "source": "/p", "type": item["type"],
                      "subject": item["ticket"],
                      "time": format_rfc3339(base + item["minute"] * 60 * 10**9 + i),
                      "data": item["data"]})
        for i, item in enumerate(items)
    ]  # fmt: skip


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(items=histories(), data=st.data())
def test_figures_do_not_depend_on_the_order_of_the_log(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    """The same events in any line order give the same report, quality and breakdowns."""
    lines = lines_of(items)
    shuffled = data.draw(st.permutations(lines))
    reference = run_replay(lines, POLICY).result
    other = run_replay(shuffled, POLICY).result
    assert other.quality == reference.quality
    assert other.report()["slas"] == reference.report()["slas"]


def _sum_counts(group: dict[str, Any]) -> dict[str, int]:
    counts = {f"{p}.{sla}.{key}": row[key] for p, rows in group["slas"].items()
              for sla, row in rows.items()
              for key in ("count", "met", "breached", "open")}  # fmt: skip
    quality = group["quality"]
    counts["tickets"] = quality["tickets"]
    counts["csat_count"] = quality["csat_count"]
    for category, cell in quality["csat_by_category"].items():
        counts[f"csat.{category}"] = cell["count"]
    return counts


@PROPERTY
@given(items=histories())
def test_breakdown_counts_sum_to_the_totals(items: list[dict[str, Any]]) -> None:
    """For every dimension, the groups' counts add up to the report's totals."""
    from slamon.replay import replay  # noqa: PLC0415

    result = replay(lines_of(items), POLICY, by=DIMENSIONS)
    report = result.report()
    totals = _sum_counts({"slas": report["slas"], "quality": report["quality"]})
    assert set(report["breakdowns"]) == set(DIMENSIONS) or totals["tickets"] == 0
    for values in report["breakdowns"].values():
        summed = dict.fromkeys(totals, 0)
        for group in values.values():
            for key, count in _sum_counts(group).items():
                summed[key] += count
        assert summed == totals
