"""Validation of CloudEvents into ticket events, with reasons for what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from slamon.core.events import MAX_REASON_CHARS, Event, InvalidEvent, parse_event


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


BIG = "alice@example.com, " * 55_000  # ~1 MB of customer data
PRIORITY_REASON = "data.priority must be one of P1, P2, P3, P4, got "


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (envelope(subject="T" * 201), "subject is 201 characters, more than 200"),
        (envelope(id="e" * 201), "id is 201 characters, more than 200"),
        (envelope(source="/" * 401), "source is 401 characters, more than 400"),
        (envelope(type="t" * 65), "type is 65 characters, more than 64"),
        (envelope(time="2" * 65), "time is 65 characters, more than 64"),
        (envelope(subject="T\x001"), "subject contains a control character"),
        (envelope(id="e\n1"), "id contains a control character"),
        (envelope(source="/a\x7f"), "source contains a control character"),
        (envelope(subject="T\x85"), "subject contains a control character"),  # C1 NEL
        (envelope(data={"priority": "P1", "region": "r" * 201}),
         "data.region is 201 characters, more than 200"),
        (envelope(data={"priority": "P1", "customer_tier": BIG}),
         f"data.customer_tier is {len(BIG)} characters, more than 200"),
        (envelope("ticket.paused", data={"reason": BIG}),
         f"data.reason is {len(BIG)} characters, more than 200"),
        (envelope("technician.arrived", data={"technician_id": BIG}),
         f"data.technician_id is {len(BIG)} characters, more than 200"),
        (envelope("ticket.resolved", data={"technician_id": BIG}),
         f"data.technician_id is {len(BIG)} characters, more than 200"),
        (envelope(time="0001-01-01T00:00:00+23:59"),
         ("time: 0001-01-01T00:00:00+23:59 is outside the supported range "
          "1970-01-01T00:00:00Z..2200-01-01T00:00:00Z")),
        (envelope(data={"priority": ["P1"]}), f"{PRIORITY_REASON}['P1']"),
        (envelope(data={"priority": {"P1": 1}}), f"{PRIORITY_REASON}{{'P1': 1}}"),
        (envelope(data={"priority": "P1", "service": ["onsite"]}),
         "data.service must be 'onsite' or 'remote', got ['onsite']"),
        (envelope("survey.submitted", data={"score": 10**40}),
         "data.score must be within 1..10, got <integer of 133 bits>"),
    ],
)  # fmt: skip
def test_limits_give_exact_reasons(record: Any, reason: str) -> None:
    """Each limit of docs/contract.md ("Limits") has its own reason, quoting no long value."""
    with pytest.raises(InvalidEvent) as caught:
        parse_event(record, seq=1)
    assert caught.value.reason == reason


def test_values_at_the_limits_are_valid() -> None:
    """200-character ids/subjects/data strings, a 400-character source are fine."""
    data = {"priority": "P1", "region": "r" * 200, "customer_tier": "é" * 200}
    record = envelope(id="e" * 200, subject="T" * 200, source="s" * 400, data=data)
    event = parse_event(record, seq=1)
    assert (len(event.id), len(event.ticket_id), len(event.region or "")) == (200, 200, 200)
    assert parse_event(envelope(subject="T-\u00e9\u4e2d\U0001f600"), 1).ticket_id == "T-é中😀"


@pytest.mark.parametrize(
    "record",
    [
        envelope(specversion=BIG),
        envelope(type=BIG[:60]),
        envelope(time=BIG[:60]),
        envelope(data={"priority": BIG}),
        envelope(data={"priority": "P1", "service": BIG}),
        envelope("survey.submitted", data={"score": BIG}),
        envelope("survey.submitted", data={"score": [BIG] * 1000}),
        envelope(specversion={"k": [BIG] * 1000}),
    ],
)
def test_a_reason_for_a_huge_bad_field_is_short_and_does_not_contain_it(record: Any) -> None:
    """A 1 MB bad value gives a reason of at most 200 characters, with at most an excerpt."""
    with pytest.raises(InvalidEvent) as caught:
        parse_event(record, seq=1)
    reason = caught.value.reason
    assert 0 < len(reason) <= MAX_REASON_CHARS
    assert BIG[:60] not in reason
    assert reason.count("alice@example.com") <= 2


def test_invalid_event_reasons_are_capped_whatever_the_caller_builds() -> None:
    """InvalidEvent itself cuts a reason to 200 characters."""
    assert len(InvalidEvent("x" * 10_000).reason) == MAX_REASON_CHARS
    assert InvalidEvent("x" * 10_000).reason.endswith("...")
    assert str(InvalidEvent("short")) == "short"


@pytest.mark.parametrize(
    "subject", ["T\u00a01", "T-\u2028", "T-\U0001f600", "T-\u00e9", "T \u4e2d"]
)
def test_non_printable_but_not_control_characters_are_fine(subject: str) -> None:
    """Only C0, DEL and C1 controls are refused in ids: a no-break space or an emoji is not."""
    assert parse_event(envelope(subject=subject), 1).ticket_id == subject
