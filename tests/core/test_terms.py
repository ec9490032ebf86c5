"""SLA terms (spec.terms, docs/contract.md#terms), hand-computed on a 24x7 test policy.

``small_policy`` targets (first_response/onsite_arrival/resolution): P1 10m/1h/2h,
P2 30m/2h/4h, P3 1h/4h/8h, P4 2h/8h/16h; warn_at 0.75. The terms, in order:

1. ``gold-onsite`` (customer_tier gold, service onsite): P2 onsite_arrival 1h
2. ``gold`` (customer_tier gold): P2 10m/90m/2h
3. ``north`` (region north or east): P3 first_response 30m
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from slamon.adapters.policy_yaml import loads_policy
from slamon.core.policy import PolicyError, SlaPolicy
from slamon.core.timefmt import parse_rfc3339
from slamon.replay import replay
from slamon.testing import EventLog, at, small_policy
from tests.helpers import run_replay

FR, ON, RES = "first_response", "onsite_arrival", "resolution"
TERMS: list[dict[str, Any]] = [
    {"name": "gold-onsite", "match": {"customer_tier": ["gold"], "service": ["onsite"]},
     "priorities": {"P2": {"onsite_arrival": "1h"}}},
    {"name": "gold", "match": {"customer_tier": ["gold"]},
     "priorities": {"P2": {"first_response": "10m", "onsite_arrival": "90m",
                           "resolution": "2h"}}},
    {"name": "north", "match": {"region": ["north", "east"]},
     "priorities": {"P3": {"first_response": "30m"}}},
]  # fmt: skip


def terms_policy() -> SlaPolicy:
    return small_policy(terms=TERMS)


def targets_s(run: Any, ticket: str) -> tuple[float, float, float]:
    return tuple(run.outcome(ticket, sla).target_ns / 1e9 for sla in (FR, ON, RES))


def test_the_first_matching_entry_wins_and_its_missing_fields_come_from_spec_priorities() -> None:
    """A gold onsite P2 ticket matches gold-onsite and gold: the first gives on-site 1h; its
    first response and resolution are spec.priorities' P2 (30m, 4h), not gold's (10m, 2h)."""
    log = EventLog()
    log.created("T1", at(0), "P2", service="onsite", customer_tier="gold")
    run = run_replay(log, terms_policy())
    assert targets_s(run, "T1") == (1800.0, 3600.0, 14400.0)
    assert {run.outcome("T1", sla).terms for sla in (FR, ON, RES)} == {"gold-onsite"}


def test_a_later_entry_matches_when_an_earlier_one_does_not() -> None:
    """A gold remote P2 ticket fails gold-onsite (service) and takes gold: 10m/90m/2h."""
    log = EventLog()
    log.created("T1", at(0), "P2", service="remote", customer_tier="gold")
    run = run_replay(log, terms_policy())
    assert targets_s(run, "T1") == (600.0, 5400.0, 7200.0)
    assert run.outcome("T1", FR).terms == "gold"


def test_a_priority_the_entry_does_not_name_falls_back_to_spec_priorities() -> None:
    """gold names only P2: a gold P1 ticket has spec.priorities' P1 targets, under gold."""
    log = EventLog()
    log.created("T1", at(0), "P1", customer_tier="gold")
    run = run_replay(log, terms_policy())
    assert targets_s(run, "T1") == (600.0, 3600.0, 7200.0)
    assert run.outcome("T1", FR).terms == "gold"


def test_any_listed_value_matches_and_no_match_means_spec_priorities_without_a_name() -> None:
    """Region east is one of north's values (P3 first response 30m); region south matches no
    entry: spec.priorities, and the records carry no terms field at all."""
    log = EventLog()
    log.created("E", at(0), "P3", region="east", customer_tier="silver")
    log.created("S", at(0), "P3", region="south")
    run = run_replay(log, terms_policy())
    assert run.outcome("E", FR).target_ns == 1800 * 10**9
    assert run.outcome("E", FR).terms == "north"
    assert run.outcome("S", FR).target_ns == 3600 * 10**9
    assert run.outcome("S", FR).terms is None
    assert "terms" not in run.outcome("S", FR).to_dict()
    assert run.outcome("E", FR).to_dict()["terms"] == "north"


def test_without_terms_records_are_byte_identical_to_before() -> None:
    """No spec.terms: an alert and an outcome serialise exactly as they always did."""
    log = EventLog()
    log.created("T1", at(0), "P1")
    run = run_replay(log, small_policy(), until=parse_rfc3339(at(11)))
    alert = run.alerts("T1", FR)[-1]
    assert orjson.dumps(alert.to_dict()) == (
        b'{"id":"' + alert.id.encode() + b'","type":"sla.breached","ticket_id":"T1",'
        b'"sla":"first_response","priority":"P1","deadline":"2026-11-23T08:10:00.000Z",'
        b'"at":"2026-11-23T08:10:00.000Z"}'
    )
    assert orjson.dumps(run.outcome("T1", FR).to_dict()) == (
        b'{"ticket_id":"T1","sla":"first_response","priority":"P1","status":"breached",'
        b'"elapsed_seconds":660.0,"target_seconds":600.0,"deadline":"2026-11-23T08:10:00.000Z"}'
    )
    assert "terms" not in run.result.report().get("breakdowns", {})


def test_ticket_updated_reselects_the_terms_from_creation_and_raises_a_breach() -> None:
    """A silver P2 ticket (first response 30m) becomes gold at 15m: 10m from creation, so
    the breach is already 5 minutes old; it alerts at 15m with at = 10m, under gold."""
    log = EventLog()
    log.created("T1", at(0), "P2", customer_tier="silver")
    log.add("ticket.updated", "T1", at(15), {"customer_tier": "gold"})
    log.add("ticket.responded", "T1", at(20))
    run = run_replay(log, terms_policy())
    # at 15m both gold instants are past: the at-risk (7.5m) and the breach (10m) alert
    assert run.kinds("T1", FR) == ["sla.at_risk", "sla.breached"]
    at_risk, breach = run.alerts("T1", FR)
    assert at_risk.at == parse_rfc3339(at(7.5))
    assert breach.at == parse_rfc3339(at(10))
    assert breach.terms == "gold"
    assert run.status("T1", FR) == "breached"
    assert run.elapsed_s("T1", FR) == 1200.0


def test_ticket_updated_retracts_a_breach_the_new_terms_do_not_have() -> None:
    """A gold P2 ticket breaches first response at 10m; at 20m it becomes silver (30m):
    the breach is retracted at 20m, and a response at 25m is met."""
    log = EventLog()
    log.created("T1", at(0), "P2", customer_tier="gold")
    log.add("ticket.updated", "T1", at(20), {"customer_tier": "silver"})
    log.add("ticket.responded", "T1", at(25))
    run = run_replay(log, terms_policy())
    assert run.kinds("T1", FR) == ["sla.at_risk", "sla.breached", "sla.breach_retracted"]
    at_risk, breach, retracted = run.alerts("T1", FR)
    assert at_risk.at == parse_rfc3339(at(7.5))
    assert breach.at == parse_rfc3339(at(10))
    assert retracted.at == parse_rfc3339(at(20))
    assert (breach.terms, retracted.terms) == ("gold", None)
    assert run.status("T1", FR) == "met"
    assert run.outcome("T1", FR).terms is None


def test_ticket_updated_keeps_the_attributes_it_does_not_carry() -> None:
    """An update with only a region keeps the tier: a gold ticket moved to north is still
    gold (gold comes first); a later tier change to bronze makes it north."""
    log = EventLog()
    log.created("T1", at(0), "P3", customer_tier="gold", region="south")
    log.add("ticket.updated", "T1", at(1), {"region": "north"})
    first = run_replay(log, terms_policy())
    assert first.outcome("T1", FR).terms == "gold"
    assert first.result.folds["T1"].customer_tier == "gold"
    log.add("ticket.updated", "T1", at(2), {"customer_tier": "bronze"})
    second = run_replay(log, terms_policy())
    assert second.outcome("T1", FR).terms == "north"
    assert second.outcome("T1", FR).target_ns == 1800 * 10**9


def test_ticket_updated_is_ignored_before_creation_and_after_cancellation() -> None:
    """Like every event: an update before ticket.created or after a cancel changes nothing."""
    log = EventLog()
    log.add("ticket.updated", "T1", at(0), {"customer_tier": "gold"})
    log.created("T1", at(1), "P2", customer_tier="silver")
    log.add("ticket.cancelled", "T1", at(2))
    log.add("ticket.updated", "T1", at(3), {"customer_tier": "gold"})
    run = run_replay(log, terms_policy())
    fold = run.result.folds["T1"]
    assert fold.customer_tier == "silver"
    assert fold.ignored == 2
    assert run.outcome("T1", FR).terms is None


def test_a_late_update_gives_the_outcome_of_the_sorted_log() -> None:
    """An update that arrives after the response but happened before it: same result as in
    order (gold from creation: the response at 20m is 10 minutes late)."""
    ordered, late = EventLog(), EventLog()
    for log in (ordered, late):
        log.created("T1", at(0), "P2", customer_tier="silver")
    ordered.add("ticket.updated", "T1", at(5), {"customer_tier": "gold"}, id="u")
    ordered.add("ticket.responded", "T1", at(20), id="r")
    late.add("ticket.responded", "T1", at(20), id="r")
    late.add("ticket.updated", "T1", at(5), {"customer_tier": "gold"}, id="u")
    a, b = run_replay(ordered, terms_policy()), run_replay(late, terms_policy())
    assert a.status("T1", FR) == b.status("T1", FR) == "breached"
    assert a.outcome("T1", FR) == b.outcome("T1", FR)


def test_the_report_breaks_down_by_terms() -> None:
    """--by terms: each ticket under its terms' name, the unmatched under (none); the
    groups' counts add up. Without --by the report has no breakdowns, terms or not."""
    log = EventLog()
    log.created("G", at(0), "P2", customer_tier="gold")
    log.created("N", at(0), "P3", region="north")
    log.created("X", at(0), "P3")
    log.add("ticket.responded", "G", at(5))
    assert "breakdowns" not in run_replay(log, terms_policy()).result.report()
    report = replay(log.lines(), terms_policy(), by=("terms",)).report()
    split = report["breakdowns"]["terms"]
    assert sorted(split) == ["(none)", "gold", "north"]
    assert split["gold"]["slas"]["P2"][FR]["met"] == 1
    assert split["north"]["slas"]["P3"][FR]["open"] == 1
    assert split["(none)"]["slas"]["P3"][FR]["count"] == 1


@pytest.mark.parametrize(
    ("terms", "path", "message"),
    [
        ([{"name": "a", "match": {"tier": ["gold"]}}], "spec.terms.0.match.tier", "unknown key"),
        ([{"name": "a", "match": {"service": ["field"]}}], "spec.terms.0.match.service.0",
         "onsite or remote"),
        ([{"name": "a", "match": {"region": []}}], "spec.terms.0.match.region",
         "non-empty list"),
        ([{"name": "a"}, {"name": "a"}], "spec.terms.1.name", "defined twice"),
        ([{"name": "a", "priorities": {"P5": {}}}], "spec.terms.0.priorities.P5", "unknown key"),
        ([{"name": "a", "priorities": {"P1": {"resolution": "2x"}}}],
         "spec.terms.0.priorities.P1.resolution", "duration"),
        ([{"name": "a", "priorities": {"P1": {"calendar": "nope"}}}],
         "spec.terms.0.priorities.P1.calendar", "unknown calendar"),
        ([{"match": {}}], "spec.terms.0", "missing required key 'name'"),
        ({"name": "a"}, "spec.terms", "expected a list"),
    ],
)  # fmt: skip
def test_bad_terms_name_the_field(terms: Any, path: str, message: str) -> None:
    """Each mistake in spec.terms is an error at its field path."""
    with pytest.raises(PolicyError) as info:
        small_policy(terms=terms)
    assert ".".join(info.value.path) == path
    assert message in info.value.message


def test_a_terms_error_in_a_file_names_the_file_and_line() -> None:
    """From YAML, the error names the file, the line and the field, like the others."""
    text = """apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: t}
spec:
  priorities:
    P1: {first_response: 5m, onsite_arrival: 4h, resolution: 8h}
    P2: {first_response: 5m, onsite_arrival: 4h, resolution: 8h}
    P3: {first_response: 5m, onsite_arrival: 4h, resolution: 8h}
    P4: {first_response: 5m, onsite_arrival: 4h, resolution: 8h}
  terms:
    - name: gold
      match:
        customer_tier: [gold]
        tier: [x]
"""
    with pytest.raises(PolicyError) as info:
        loads_policy(text, "p.yaml")
    assert str(info.value).startswith("p.yaml:14: spec.terms.0.match.tier: unknown key 'tier'")


def test_ticket_updated_is_parsed_with_its_attributes_only() -> None:
    """ticket.updated carries region, customer_tier, product_category (absent: None); a
    service in it is not read (fixed at creation)."""
    from slamon.core.events import parse_event  # noqa: PLC0415

    record = {"specversion": "1.0", "id": "u", "source": "/s", "type": "ticket.updated",
              "subject": "T1", "time": at(0),
              "data": {"customer_tier": "gold", "service": "onsite"}}  # fmt: skip
    event = parse_event(record, 1)
    assert (event.customer_tier, event.region, event.product_category) == ("gold", None, None)
    assert event.service is None


def test_explain_and_the_pager_use_the_tickets_terms() -> None:
    """A gold P2 ticket (first response 10m under gold): explain's at-risk instant is 7.5m
    and its target 600 s; at 12m the pager fires SlaBreached against 10m, not 30m."""
    from slamon.adapters.jsonl import read_events  # noqa: PLC0415
    from slamon.core.engine import Engine  # noqa: PLC0415
    from slamon.core.explain import explain  # noqa: PLC0415
    from slamon.core.oncall import firing  # noqa: PLC0415

    log = EventLog()
    log.created("T1", at(0), "P2", customer_tier="gold")
    events = [e for _, e in read_events(log.lines()) if not isinstance(e, Exception)]
    timeline = explain(events, terms_policy(), parse_rfc3339(at(12)))
    clock = timeline.clocks[0]
    assert (clock.target_ns, clock.at_risk_at) == (600 * 10**9, parse_rfc3339(at(7.5)))
    engine = Engine(terms_policy())
    for event in events:
        engine.ingest(event, parse_rfc3339(at(12)))
    engine.advance(parse_rfc3339(at(12)))
    fired = firing(terms_policy(), engine.tickets["T1"], parse_rfc3339(at(12)))
    breach = next(f for f in fired if f.sla == FR)
    assert breach.alertname == "SlaBreached"
    assert breach.target == 600 * 10**9


DOC_POLICY = """apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: doc}
spec:
  priorities:
    P1: {calendar: 24x7, first_response: 5m, onsite_arrival: 4h, resolution: 8h}
    P2: {calendar: 24x7, first_response: 15m, onsite_arrival: 8h, resolution: 24h}
    P3: {calendar: 24x7, first_response: 1h, onsite_arrival: 8h, resolution: 24h}
    P4: {calendar: 24x7, first_response: 4h, onsite_arrival: 24h, resolution: 48h}
  terms:
    - name: gold-onsite
      match: {customer_tier: [gold, platinum], service: [onsite]}
      priorities:
        P1: {onsite_arrival: 2h, resolution: 6h}
    - name: gold
      match: {customer_tier: [gold, platinum]}
      priorities:
        P1: {first_response: 2m}
"""


def test_the_worked_example_of_docs_policy_md() -> None:
    """docs/policy.md#terms: a silver on-site P1 ticket at 08:00 upgraded to gold at 09:00
    has arrival 10:00 and resolution 14:00 (first response 5m, not gold's 2m); upgraded at
    10:30 instead, the 10:00 arrival breach alerts at 10:30, and a downgrade at 11:00
    retracts it."""
    policy = loads_policy(DOC_POLICY, "doc.yaml")
    base = "2026-11-23T{}:00Z"
    log = EventLog()
    log.created("T1", base.format("08:00"), "P1", service="onsite", customer_tier="silver")
    log.add("ticket.updated", "T1", base.format("09:00"), {"customer_tier": "gold"})
    run = run_replay(log, policy, until=parse_rfc3339(base.format("09:30")))
    assert run.outcome("T1", ON).deadline == parse_rfc3339(base.format("10:00"))
    assert run.outcome("T1", RES).deadline == parse_rfc3339(base.format("14:00"))
    assert run.outcome("T1", FR).target_ns == 300 * 10**9
    late = EventLog()
    late.created("T1", base.format("08:00"), "P1", service="onsite", customer_tier="silver")
    late.add("ticket.updated", "T1", base.format("10:30"), {"customer_tier": "gold"})
    late.add("ticket.updated", "T1", base.format("11:00"), {"customer_tier": "silver"})
    run = run_replay(late, policy)
    on_site = [(a.type, a.at) for a in run.alerts("T1", ON) if a.type != "sla.at_risk"]
    assert on_site == [("sla.breached", parse_rfc3339(base.format("10:00"))),
                       ("sla.breach_retracted", parse_rfc3339(base.format("11:00")))]  # fmt: skip


def test_a_restored_snapshot_keeps_the_tickets_terms_and_alerts_nothing_twice() -> None:
    """The worker's snapshot holds events, not the terms index: restoring a gold-upgraded
    ticket selects gold again (its 10m first response) and, the breach already sent,
    alerts nothing new."""
    from slamon.adapters.jsonl import read_events  # noqa: PLC0415
    from slamon.core.live import LiveEngine, Snapshot  # noqa: PLC0415

    log = EventLog()
    log.created("T1", at(0), "P2", customer_tier="silver")
    log.add("ticket.updated", "T1", at(5), {"customer_tier": "gold"})
    now = parse_rfc3339(at(12))
    engine = LiveEngine(terms_policy(), 86_400 * 10**9)
    for _, event in read_events(log.lines()):
        assert not isinstance(event, Exception)
        engine.ingest(event, now)
    engine.advance(now)
    snapshot = Snapshot.from_list(list(LiveEngine.export(engine.tickets["T1"])))
    other = LiveEngine(terms_policy(), 86_400 * 10**9)
    assert other.restore("T1", snapshot, now) == []
    ticket = other.tickets["T1"]
    assert terms_policy().terms_name(ticket.fold.terms) == "gold"
    outcome = other.pair_outcome(ticket, 0, now)
    assert (outcome.status, outcome.target_ns, outcome.terms) == ("breached", 600 * 10**9, "gold")


def test_duration_buckets_have_edges_at_the_terms_targets_too() -> None:
    """The worker's histograms: gold's P2 arrival of 90m is an edge already (P2's at-risk
    point), its at-risk point 67.5m (4050 s) is added; gold's P2 first response (600 s,
    at risk 450 s) adds nothing, P1 has those."""
    from slamon.adapters.metrics import sla_buckets  # noqa: PLC0415

    assert sla_buckets(terms_policy(), FR) == sla_buckets(small_policy(), FR)
    on_site = set(sla_buckets(terms_policy(), ON))
    assert on_site - set(sla_buckets(small_policy(), ON)) == {4050.0}


def test_explain_names_the_terms_and_what_an_update_did() -> None:
    """explain: the ticket.updated line says it reselects the terms from creation, and a note
    names the terms that gave the targets."""
    from slamon.adapters.jsonl import read_events  # noqa: PLC0415
    from slamon.core.explain import explain  # noqa: PLC0415

    log = EventLog()
    log.created("T1", at(0), "P2", customer_tier="silver")
    log.add("ticket.updated", "T1", at(5), {"customer_tier": "gold"})
    events = [e for _, e in read_events(log.lines()) if not isinstance(e, Exception)]
    timeline = explain(events, terms_policy(), parse_rfc3339(at(6)))
    assert timeline.events[1].effect == (
        "updated customer_tier gold: the SLA terms are chosen again, applying from creation"
    )
    assert any(note.startswith("terms gold: the first spec.terms entry") for note in timeline.notes)
