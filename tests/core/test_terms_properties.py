"""Hypothesis properties of SLA terms and make-up workdays over random ticket histories.

Histories mix every event type, ``ticket.updated`` with new tiers and regions included,
times on a minute grid (ties happen), and arrival in any order. The policy has three terms
(one on a business calendar with holidays and make-up workdays) and falls back to
spec.priorities; the referee is the same ticket replayed under a policy without terms
whose priorities are the selected terms'.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slamon.core.engine import Engine
from slamon.core.events import Event
from slamon.core.policy import SLAS, policy_from_dict
from slamon.core.timefmt import format_rfc3339, parse_rfc3339
from tests.helpers import run_replay

BASE = parse_rfc3339("2026-09-29T06:00:00Z")  # Tue afternoon in Shanghai, before National Day
MINUTE = 60 * 10**9
TIERS = st.sampled_from(["gold", "silver", None])
REGIONS = st.sampled_from(["north", "south", None])
HOURS = ["09:00-12:00", "13:00-18:00"]
PRIORITY_DOCS: dict[str, dict[str, Any]] = {
    "P1": {"calendar": "24x7", "first_response": "10m", "onsite_arrival": "1h",
           "resolution": "2h"},
    "P2": {"calendar": "24x7", "first_response": "30m", "onsite_arrival": "2h",
           "resolution": "4h"},
    "P3": {"calendar": "office", "first_response": "1h", "onsite_arrival": "4h",
           "resolution": "8h"},
    "P4": {"calendar": "24x7", "first_response": "2h", "onsite_arrival": "8h",
           "resolution": "16h"},
}  # fmt: skip
TERMS: list[dict[str, Any]] = [
    {"name": "gold-north", "match": {"customer_tier": ["gold"], "region": ["north"]},
     "priorities": {"P1": {"first_response": "5m"}, "P2": {"calendar": "office"}}},
    {"name": "gold", "match": {"customer_tier": ["gold"]},
     "priorities": {"P3": {"calendar": "24x7", "first_response": "20m"},
                    "P4": {"calendar": "office"}}},
    {"name": "onsite", "match": {"service": ["onsite"]},
     "priorities": {"P2": {"onsite_arrival": "40m", "resolution": "1h"}}},
]  # fmt: skip
CALENDARS = {
    "office": {
        "timezone": "Asia/Shanghai",
        "weekly": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), HOURS),
        "holidays": [f"2026-10-0{d}" for d in range(1, 8)],
        "workdays": ["2026-10-10"],
        "workday": "mon",
    }
}


def document(priorities: dict[str, Any], terms: list[dict[str, Any]] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"calendars": CALENDARS, "priorities": priorities}
    if terms is not None:
        spec["terms"] = terms
    return {"apiVersion": "slamon/v1", "kind": "SlaPolicy", "metadata": {"name": "p"},
            "spec": spec}  # fmt: skip


POLICY = policy_from_dict(document(PRIORITY_DOCS, TERMS))


def flat_policy(terms_index: int) -> Any:
    """spec.priorities replaced by the terms' own (missing fields from spec.priorities)."""
    if terms_index < 0:
        return policy_from_dict(document(PRIORITY_DOCS, None))
    merged = {p: {**doc, **TERMS[terms_index]["priorities"].get(p, {})}
              for p, doc in PRIORITY_DOCS.items()}  # fmt: skip
    return policy_from_dict(document(merged, None))


@st.composite
def histories(draw: st.DrawFn, ticket: str) -> list[dict[str, Any]]:
    kinds = ["ticket.responded", "technician.arrived", "ticket.paused", "ticket.resumed",
             "ticket.priority_changed", "ticket.resolved", "ticket.reopened",
             "ticket.cancelled", "ticket.updated", "ticket.updated"]  # fmt: skip
    data: dict[str, Any] = {
        "priority": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
        "service": draw(st.sampled_from(["onsite", "remote"])),
        "customer_tier": draw(TIERS),
        "region": draw(REGIONS),
    }
    out = [{"type": "ticket.created", "minute": draw(st.integers(0, 30)), "data": data}]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(kinds))
        extra: dict[str, Any] = {}
        if kind == "ticket.priority_changed":
            extra["priority"] = draw(st.sampled_from(["P1", "P2", "P3", "P4"]))
        elif kind == "ticket.updated":
            extra = {"customer_tier": draw(TIERS), "region": draw(REGIONS)}
        out.append({"type": kind, "minute": draw(st.integers(0, 20000)), "data": extra})
    return [{**e, "ticket": ticket} for e in out]


@st.composite
def logs(draw: st.DrawFn) -> list[Event]:
    history = [e for t in ("A", "B", "C") for e in draw(histories(t))]
    order = draw(st.permutations(range(len(history))))
    events = []
    for seq, index in enumerate(order):
        item = history[index]
        fields = {k: v for k, v in item["data"].items() if v is not None}
        events.append(Event(id=f"e{seq}", type=item["type"], ticket_id=item["ticket"],
                            time=BASE + item["minute"] * MINUTE, seq=seq, **fields))  # fmt: skip
    return events


def to_lines(log: list[Event]) -> list[bytes]:
    keys = ("priority", "service", "customer_tier", "region")
    return [
        orjson.dumps({"specversion": "1.0", "id": e.id, "source": "/p", "type": e.type,
                      "subject": e.ticket_id, "time": format_rfc3339(e.time),
                      "data": {k: getattr(e, k) for k in keys if getattr(e, k) is not None}})
        for e in log
    ]  # fmt: skip


def outcome_set(outcomes: Any) -> set[tuple[Any, ...]]:
    return {(o.ticket_id, o.sla, o.priority, o.status, o.elapsed_ns, o.target_ns, o.terms)
            for o in outcomes}  # fmt: skip


COMMON = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(log=logs(), data=st.data())
def test_any_arrival_order_gives_the_outcomes_of_the_sorted_log(
    log: list[Event], data: st.DataObject
) -> None:
    """Events (updates included) ingested in any order end in the sorted log's outcomes,
    terms names included, and the standing breaches are the breached outcomes."""
    reference = run_replay(to_lines(log), POLICY)
    until = reference.result.until
    assert until is not None
    engine = Engine(POLICY)
    for event in data.draw(st.permutations(log)):
        engine.ingest(event, until)
    assert outcome_set(engine.outcomes(until)) == outcome_set(reference.result.outcomes)
    standing = {(t.id, sla) for t in engine.tickets.values()
                for i, sla in enumerate(SLAS) if t.standing & (1 << i)}  # fmt: skip
    assert standing == reference.breached_outcomes() == reference.standing_breaches()


@COMMON
@given(log=logs())
def test_terms_apply_from_creation_as_if_the_ticket_always_had_its_final_attributes(
    log: list[Event],
) -> None:
    """Each ticket's outcomes equal a replay of its events alone under a policy without
    terms whose priorities are those of the terms its final attributes select."""
    run = run_replay(to_lines(log), POLICY)
    until = run.result.until
    for ticket_id, fold in run.result.folds.items():
        if fold.created_at is None:
            continue
        own = [e for e in log if e.ticket_id == ticket_id]
        alone = run_replay(to_lines(own), flat_policy(fold.terms), until=until)
        expected = {(o.sla, o.status, o.elapsed_ns, o.target_ns) for o in alone.result.outcomes}
        got = {(o.sla, o.status, o.elapsed_ns, o.target_ns)
               for o in run.result.outcomes if o.ticket_id == ticket_id}  # fmt: skip
        assert got == expected
        name = POLICY.terms_name(fold.terms) if fold.terms >= 0 else None
        assert {o.terms for o in run.result.outcomes if o.ticket_id == ticket_id} == {name}
