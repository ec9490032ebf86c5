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


# -- data_base64 and partitionkey: what the CloudEvents SDK (2.2, Kafka binding) sends -----
# cloudevents.core.bindings.kafka.to_structured(CloudEvent(attrs, b'{"priority": "P2"}'),
# JSONFormat()) with a partitionkey extension: key T-1, this value (bytes data: data_base64).
SDK_STRUCTURED_BYTES = (
    b'{"id": "e-1", "type": "ticket.created", "source": "/platform/acme", "subject": "T-1", '
    b'"time": "2026-11-24T08:00:00Z", "partitionkey": "T-1", "specversion": "1.0", '
    b'"data_base64": "eyJwcmlvcml0eSI6ICJQMiJ9"}'
)


def test_structured_data_base64_from_the_sdk_is_decoded() -> None:
    """The SDK's structured event with bytes data decodes to the same Event as ``data``."""
    event = decode_record(b"T-1", SDK_STRUCTURED_BYTES, [("content-type", b"x")], 3)
    as_data = orjson.loads(SDK_STRUCTURED_BYTES)
    as_data["data"] = {"priority": "P2"}
    del as_data["data_base64"]
    assert event == decode_record(b"T-1", orjson.dumps(as_data), [], 3)
    assert (event.priority, event.service) == ("P2", "remote")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"data_base64": "not base64!"}, "data_base64 is not valid base64"),
        ({"data_base64": 42}, "data_base64 must be a base64 string"),
        ({"data_base64": "cHJpb3JpdHk9UDE="},  # priority=P1
         ("data_base64 does not hold JSON: unexpected character, expected a JSON value "
          "(at character 0)")),
        ({"data_base64": "/w=="}, "data_base64 does not hold JSON: invalid UTF-8 at byte 0"),
        ({"data_base64": "WzFd"}, "data must be a JSON object"),  # [1]
        ({"data_base64": "e30=", "data": {"priority": "P1"}},
         "data and data_base64 are both set (an event carries one)"),
    ],
)  # fmt: skip
def test_bad_data_base64_says_what_is_wrong(fields: dict[str, Any], reason: str) -> None:
    """Not base64, not JSON, not an object, or next to ``data``: the reason says which,
    never the misleading ``data.priority is required``."""
    record = {k: v for k, v in created().items() if k != "data"} | fields
    with pytest.raises(InvalidEvent) as info:
        decode_record(b"T1", orjson.dumps(record), [], 0)
    assert info.value.reason == reason


def test_a_null_data_base64_is_no_data() -> None:
    """``data_base64: null`` is absent, like ``data: null``: ``data`` decides."""
    record = created(data_base64=None)
    assert decode_record(b"T1", orjson.dumps(record), [], 42) == EXPECTED


def test_partitionkey_is_not_read_the_record_key_must_be_the_ticket_id() -> None:
    """The worker reads the record key, not the partitionkey attribute: the SDK's Kafka
    binding copies partitionkey into the key (so partitionkey = subject works), but a
    record whose key is missing or differs is invalid, whatever partitionkey says."""
    record = created(partitionkey="T1")
    assert decode_record(b"T1", orjson.dumps(record), [], 42) == EXPECTED
    with pytest.raises(InvalidEvent, match="record key None must be the ticket id 'T1'"):
        decode_record(None, orjson.dumps(record), [], 0)
    headers = [*BINARY_HEADERS, ("ce_partitionkey", b"T1")]
    value = orjson.dumps({"priority": "P1", "service": "onsite"})
    with pytest.raises(InvalidEvent, match="record key 'other' must be the ticket id 'T1'"):
        decode_record(b"other", value, headers, 0)
