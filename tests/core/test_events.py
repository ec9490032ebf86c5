"""Validation of CloudEvents into ticket events, with reasons for what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from slamon.core.events import Event, InvalidEvent, parse_event


def envelope(etype: str = "ticket.created", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/platform/acme",
        "type": etype,
        "subject": "T-1",
        "time": "2026-11-24T08:00:00Z",
        "data": {"priority": "P2"},
    }
    record.update(overrides)
    return record


def test_created_event_with_defaults() -> None:
    """A minimal created event: priority kept, service defaults to remote."""
    event = parse_event(envelope(), seq=7)
    assert isinstance(event, Event)
    assert (event.ticket_id, event.priority, event.service, event.seq) == ("T-1", "P2", "remote", 7)


def test_created_keeps_optional_attributes() -> None:
    """service, region and customer_tier are carried through."""
    data = {"priority": "P1", "service": "onsite", "region": "north", "customer_tier": "gold"}
    event = parse_event(envelope(data=data), seq=1)
    assert (event.service, event.region, event.customer_tier) == ("onsite", "north", "gold")


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([1, 2], "JSON object"),
        (envelope(specversion="0.3"), "specversion"),
        (envelope(specversion=1.0), "specversion"),
        (envelope(id=""), "id must be"),
        (envelope(source=None), "source must be"),
        (envelope(subject=5), "subject must be"),
        (envelope(type="ticket.exploded"), "unknown event type"),
        (envelope(time="2026-11-24T08:00:00"), "time"),
        (envelope(time="2026-11-24 08:00:00Z"), "time"),
        (envelope(time="2026-12-31T23:59:60Z"), "leap"),
        (envelope(data=[]), "data must be a JSON object"),
        (envelope(data="x"), "data must be a JSON object"),
        (envelope(data={}), "priority is required"),
        (envelope(data={"priority": "P5"}), "priority must be one of"),
        (envelope(data={"priority": "P1", "service": "hybrid"}), "service"),
        (envelope("ticket.priority_changed", data={}), "priority is required"),
        (envelope("survey.submitted", data={"score": 7.5}), "JSON integer"),
        (envelope("survey.submitted", data={"score": "9"}), "JSON integer"),
        (envelope("survey.submitted", data={"score": True}), "JSON integer"),
        (envelope("survey.submitted", data={}), "JSON integer"),
        (envelope("survey.submitted", data={"score": 0}), "1..10"),
        (envelope("survey.submitted", data={"score": 11}), "1..10"),
    ],
)
def test_invalid_records_are_refused_with_a_reason(record: Any, reason: str) -> None:
    """Each invalid record raises InvalidEvent whose reason names the problem."""
    with pytest.raises(InvalidEvent) as caught:
        parse_event(record, seq=1)
    assert reason in caught.value.reason


@pytest.mark.parametrize("data", [None, {}])
def test_missing_or_null_data_means_empty(data: Any) -> None:
    """A responded event needs no data; null data is the same as {}."""
    record = envelope("ticket.responded")
    if data is None:
        del record["data"]
    else:
        record["data"] = data
    assert parse_event(record, seq=1).type == "ticket.responded"
    record["data"] = None
    assert parse_event(record, seq=1).type == "ticket.responded"


@pytest.mark.parametrize(
    ("flag", "expected"), [(True, True), (False, False), ("true", None), (1, None)]
)
def test_first_time_fix_must_be_a_boolean_to_count(flag: Any, expected: bool | None) -> None:
    """A first_time_fix that is not a JSON boolean means no flag."""
    event = parse_event(envelope("ticket.resolved", data={"first_time_fix": flag}), seq=1)
    assert event.first_time_fix is expected


def test_score_bounds_are_inclusive() -> None:
    """Scores 1 and 10 are valid."""
    for score in (1, 10):
        assert parse_event(envelope("survey.submitted", data={"score": score}), 1).score == score
