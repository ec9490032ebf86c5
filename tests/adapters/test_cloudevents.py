"""CloudEvents on Kafka: records decoded in structured and binary mode, alerts encoded."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from slamon.adapters.cloudevents import decode_record, encode_alert, encode_outcome
from slamon.core.decisions import Alert, AlertType, Outcome, Status, alert_id
from slamon.core.events import MAX_RECORD_BYTES, Event, InvalidEvent
from slamon.core.timefmt import NS_PER_S, parse_rfc3339

T0 = parse_rfc3339("2026-11-23T08:00:00Z")
MIN = 60 * NS_PER_S


def created(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/platform/acme",
        "type": "ticket.created",
        "subject": "T1",
        "time": "2026-11-23T08:00:00Z",
        "data": {"priority": "P1", "service": "onsite"},
    }
    record.update(overrides)
    return record


EXPECTED = Event(
    id="e-1",
    type="ticket.created",
    ticket_id="T1",
    time=T0,
    seq=42,
    source="/platform/acme",
    priority="P1",
    service="onsite",
)

BINARY_HEADERS: list[tuple[str, bytes | None]] = [
    ("ce_specversion", b"1.0"),
    ("ce_id", b"e-1"),
    ("ce_source", b"/platform/acme"),
    ("ce_type", b"ticket.created"),
    ("ce_subject", b"T1"),
    ("ce_time", b"2026-11-23T08:00:00Z"),
    ("content-type", b"application/json"),
]


def test_structured_record_decodes_to_an_event() -> None:
    """A structured-mode value (the whole CloudEvent as JSON) becomes the Event; seq = offset."""
    assert decode_record(b"T1", orjson.dumps(created()), [], 42) == EXPECTED


def test_binary_record_decodes_to_the_same_event() -> None:
    """Binary mode: attributes from ce_* headers, the value is data."""
    value = orjson.dumps({"priority": "P1", "service": "onsite"})
    assert decode_record(b"T1", value, BINARY_HEADERS, 42) == EXPECTED


def test_binary_header_names_are_case_insensitive() -> None:
    """CE_SpecVersion, Ce_Id ... are read like their lower-case names."""
    headers = [
        (name.upper() if i % 2 else name.title(), v) for i, (name, v) in enumerate(BINARY_HEADERS)
    ]
    assert headers[0][0] == "Ce_Specversion"
    assert headers[1][0] == "CE_ID"
    value = orjson.dumps({"priority": "P1", "service": "onsite"})
    assert decode_record(b"T1", value, headers, 42) == EXPECTED


def test_binary_record_without_value_has_no_data() -> None:
    """A binary responded event needs no data: an absent value is accepted."""
    headers = [(n, b"ticket.responded" if n == "ce_type" else v) for n, v in BINARY_HEADERS]
    event = decode_record(b"T1", None, headers, 7)
    assert (event.type, event.ticket_id, event.time, event.seq) == ("ticket.responded", "T1", T0, 7)


def test_binary_record_with_non_json_value_is_invalid() -> None:
    """A binary-mode value that is not JSON is refused: data is not valid JSON."""
    with pytest.raises(InvalidEvent) as info:
        decode_record(b"T1", b"priority=P1", BINARY_HEADERS, 0)
    assert info.value.reason.startswith("data is not valid JSON")


def test_non_utf8_ce_header_is_invalid() -> None:
    """A ce_* header value that is not UTF-8 is refused, naming the header."""
    headers = [*BINARY_HEADERS[:1], ("ce_id", b"\xff\xfe"), *BINARY_HEADERS[2:]]
    with pytest.raises(InvalidEvent, match="header ce_id is not UTF-8"):
        decode_record(b"T1", b"{}", headers, 0)


def test_none_value_without_ce_headers_is_invalid() -> None:
    """No value and no ce_specversion header: an empty record."""
    with pytest.raises(InvalidEvent, match=r"empty record \(no value, no ce_specversion header\)"):
        decode_record(b"T1", None, [("content-type", b"application/json")], 0)


def test_structured_value_that_is_not_json_is_invalid() -> None:
    """A structured value that does not parse is refused as not valid JSON."""
    with pytest.raises(InvalidEvent) as info:
        decode_record(b"T1", b"{not json", [], 0)
    assert info.value.reason.startswith("not valid JSON")


def test_missing_key_is_invalid_and_names_the_ticket_id() -> None:
    """A record without a key cannot be routed by ticket: the reason names the ticket id."""
    with pytest.raises(InvalidEvent) as info:
        decode_record(None, orjson.dumps(created()), [], 0)
    assert info.value.reason == "record key None must be the ticket id 'T1'"


def test_key_other_than_subject_is_invalid() -> None:
    """The record key must equal the event's subject (the ticket id)."""
    with pytest.raises(InvalidEvent, match="record key 'T2' must be the ticket id 'T1'"):
        decode_record(b"T2", orjson.dumps(created()), [], 0)


def test_validation_errors_of_parse_event_pass_through() -> None:
    """Envelope validation is parse_event's: a wrong specversion is refused with its reason."""
    with pytest.raises(InvalidEvent, match=re.escape("specversion must be '1.0', got '0.3'")):
        decode_record(b"T1", orjson.dumps(created(specversion="0.3")), [], 0)


def test_encode_alert_is_a_structured_cloudevent() -> None:
    """An alert becomes a CloudEvent: id, type, subject from the alert; time is its instant."""
    alert = Alert(
        id=alert_id("T1", "first_response", "sla.breached", 1),
        type=AlertType.BREACHED,
        ticket_id="T1",
        sla="first_response",
        priority="P1",
        deadline=T0 + 10 * MIN,
        at=T0 + 10 * MIN,
    )
    detected = T0 + 11 * MIN + 1  # one ns past 08:11: printed with nine digits
    event = orjson.loads(encode_alert(alert, detected))
    assert event == {
        "specversion": "1.0",
        "id": alert.id,
        "source": "/slamon",
        "type": "sla.breached",
        "subject": "T1",
        "time": "2026-11-23T08:10:00.000Z",
        "datacontenttype": "application/json",
        "data": {
            "id": alert.id,
            "type": "sla.breached",
            "ticket_id": "T1",
            "sla": "first_response",
            "priority": "P1",
            "deadline": "2026-11-23T08:10:00.000Z",
            "at": "2026-11-23T08:10:00.000Z",
            "detected_at": "2026-11-23T08:11:00.000000001Z",
        },
    }
    assert event["time"] == event["data"]["at"]


def test_encode_alert_without_deadline() -> None:
    """A retraction on a stopped clock has no deadline: data.deadline is null."""
    alert = Alert("x", AlertType.RETRACTED, "T1", "resolution", "P2", None, T0)
    data = orjson.loads(encode_alert(alert, T0))["data"]
    assert data["deadline"] is None
    assert data["detected_at"] == "2026-11-23T08:00:00.000Z"


def test_encode_outcome_includes_recorded_at() -> None:
    """An outcome record carries its fields in seconds plus when it was recorded."""
    outcome = Outcome(
        "T1", "first_response", "P1", Status.MET, 240_123_000_000, 10 * MIN, None, True
    )
    record = orjson.loads(encode_outcome(outcome, T0 + 5 * MIN))
    assert record == {
        "ticket_id": "T1",
        "sla": "first_response",
        "priority": "P1",
        "status": "met",
        "elapsed_seconds": 240.123,
        "target_seconds": 600.0,
        "deadline": None,
        "recorded_at": "2026-11-23T08:05:00.000Z",
    }


def test_non_utf8_keys_are_invalid_not_replaced() -> None:
    """b'\\xff' and b'\\xfe' used to both decode to U+FFFD and collide: now both are refused."""
    value = orjson.dumps(created(subject="\ufffd"))
    for key in (b"\xff", b"\xfe", b"T\xc3"):
        with pytest.raises(InvalidEvent) as info:
            decode_record(key, value, [], 0)
        assert info.value.reason.startswith("record key is not valid UTF-8 (byte ")


def test_a_long_mismatched_key_is_quoted_as_an_excerpt() -> None:
    """The mismatch reason quotes at most 40 characters of the key."""
    with pytest.raises(InvalidEvent) as info:
        decode_record(b"K" * 100_000, orjson.dumps(created()), [], 0)
    assert len(info.value.reason) < 120
    assert info.value.reason.endswith("must be the ticket id 'T1'")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([*BINARY_HEADERS, ("ce_id", b"e-2")], "header ce_id appears more than once"),
        ([*BINARY_HEADERS, ("CE_Subject", b"T1")], "header CE_Subject appears more than once"),
        ([*BINARY_HEADERS, ("ce_region", None)], "header ce_region has no value"),
        ([h for h in BINARY_HEADERS if h[0] != "ce_id"], "id must be a non-empty string"),
        ([h for h in BINARY_HEADERS if h[0] != "ce_time"], "time must be a non-empty string"),
        ([(n, b"\xc3" if n == "ce_subject" else v) for n, v in BINARY_HEADERS],
         "header ce_subject is not UTF-8"),
        ([(n, b"T\x001" if n == "ce_subject" else v) for n, v in BINARY_HEADERS],
         "subject contains a control character"),
        ([(n, b"0001-11-23T08:00:00Z" if n == "ce_time" else v) for n, v in BINARY_HEADERS],
         ("time: 0001-11-23T08:00:00Z is outside the supported range "
          "1970-01-01T00:00:00Z..2200-01-01T00:00:00Z")),
        ([("ce_" + "x" * 1000, b"1"), *BINARY_HEADERS, ("ce_" + "x" * 1000, b"2")],
         f"header ce_{'x' * 34}... appears more than once"),
    ],
)  # fmt: skip
def test_broken_binary_headers_are_invalid(
    headers: list[tuple[str, bytes | None]], reason: str
) -> None:
    """Duplicated (case-insensitively), valueless, non-UTF-8 or missing ce_* headers."""
    value = orjson.dumps({"priority": "P1", "service": "onsite"})
    with pytest.raises(InvalidEvent) as info:
        decode_record(b"T1", value, headers, 0)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("key", "value", "headers", "size"),
    [
        (b"T1", b" " * (MAX_RECORD_BYTES - 1), [], MAX_RECORD_BYTES + 1),
        (b"T1", None, [*BINARY_HEADERS, ("ce_blob", b"x" * MAX_RECORD_BYTES)], None),
        (b"T" * (MAX_RECORD_BYTES + 1), b"{}", [], MAX_RECORD_BYTES + 3),
    ],
)
def test_records_over_the_size_limit_are_invalid_before_parsing(
    key: bytes, value: bytes | None, headers: list[tuple[str, bytes | None]], size: int | None
) -> None:
    """Key + value + headers over 256 KiB: 'record of N bytes exceeds the 262144-byte limit'."""
    with pytest.raises(InvalidEvent) as info:
        decode_record(key, value, headers, 0)
    assert info.value.reason.endswith("bytes exceeds the 262144-byte limit")
    if size is not None:
        assert info.value.reason == f"record of {size} bytes exceeds the 262144-byte limit"


def test_binary_data_with_nan_says_so() -> None:
    """NaN in a binary-mode value: the reason names NaN, not just 'unexpected character'."""
    with pytest.raises(InvalidEvent) as info:
        decode_record(b"T1", b'{"priority": NaN}', BINARY_HEADERS, 0)
    assert info.value.reason == (
        "data is not valid JSON: NaN and Infinity are not JSON numbers (at character 13)"
    )
