"""Every byte is hostile: replay lines and Kafka records, hand-written probes and fuzzing.

Whatever the input, ``read_events`` and ``decode_record`` give an Event or an InvalidEvent
whose reason is non-empty, at most 200 characters and free of the offending value; never
another exception, never a hang. Valid events round-trip.
"""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slamon.adapters.cloudevents import decode_record
from slamon.adapters.jsonl import read_events
from slamon.core.events import (
    EVENT_TYPES,
    MAX_REASON_CHARS,
    MAX_RECORD_BYTES,
    Event,
    InvalidEvent,
)
from slamon.core.policy import PRIORITIES
from slamon.core.timefmt import MAX_TIME_NS, MIN_TIME_NS, format_rfc3339, parse_rfc3339

LIMIT_REASON = "bytes exceeds the 262144-byte limit"


def event(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/platform/acme",
        "type": "ticket.created",
        "subject": "T1",
        "time": "2026-11-23T08:00:00Z",
        "data": {"priority": "P2", "service": "onsite", "region": "north"},
    }
    record.update(overrides)
    return record


def line(**overrides: Any) -> bytes:
    return orjson.dumps(event(**overrides))


def decoded(lines: list[bytes]) -> list[tuple[int, Event | InvalidEvent]]:
    return list(read_events(lines))


def reason_of(raw: bytes) -> str:
    ((_, item),) = decoded([raw])
    assert isinstance(item, InvalidEvent), item
    return item.reason


def assert_bounded(item: Event | InvalidEvent) -> None:
    """The only two outcomes: an Event, or an InvalidEvent with a short non-empty reason."""
    if isinstance(item, InvalidEvent):
        assert 0 < len(item.reason) <= MAX_REASON_CHARS
        assert str(item) == item.reason
    else:
        assert isinstance(item, Event)
        assert MIN_TIME_NS <= item.time < MAX_TIME_NS


# -- hand-written probes -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": NaN}', "not valid JSON: NaN and Infinity are not JSON numbers (at character 6)"),
        (b'{"a": Infinity}', "not valid JSON: NaN and Infinity are not JSON numbers"),
        (b'{"a": -Infinity}', "not valid JSON: NaN and Infinity are not JSON numbers"),
        (b'{"a": ' + b"9" * 10_000 + b"}", "not valid JSON: number is infinity when parsed"),
        (b'{"id": "\xff"}', "not valid JSON: invalid UTF-8 at byte 8"),
        (b'{"id": "a\x00b"}', "not valid JSON: unexpected control character in string"),
        (b"{null: 1}", "not valid JSON: unexpected character, expected a string key"),
        (b"[" * 2000 + b"]" * 2000, "not valid JSON: depth limit exceeded"),
        (line(id="a\u0000b"), "id contains a control character"),
        (line(subject=None), "subject must be a non-empty string"),
        (line(data={"priority": None}), "data.priority is required"),
        (line(time="0000-01-01T00:00:00Z"), "time: 0000-01-01T00:00:00Z is outside the"),
        (line(time="9999-12-31T23:00:00Z"), "time: 9999-12-31T23:00:00Z is outside the"),
        (line(time="\u0661\u0669\u0667\u0660-01-01T00:00:00Z"), "time: not an RFC 3339"),
        (line(type="survey.submitted", data={"score": 0})[:-3] + b"1" + b"0" * 30 + b"}}",
         "data.score must be a JSON integer, got 1e+30"),  # beyond 64 bits orjson reads a float
        (b"\xef\xbb\xbf" + line(), "not valid JSON: UTF-8 byte order mark (BOM) is not supported"),
    ],
)  # fmt: skip
def test_probe_lines_are_invalid_with_a_clear_reason(raw: bytes, reason: str) -> None:
    """Each probe line (not the first of a file) gives its documented reason."""
    ((_, first), (_, item)) = decoded([line(id="first"), raw])
    assert isinstance(first, Event)
    assert isinstance(item, InvalidEvent), item
    assert item.reason.startswith(reason), item.reason
    assert_bounded(item)


def test_duplicate_keys_keep_the_last() -> None:
    """orjson keeps the last of duplicate keys (documented in docs/contract.md)."""
    raw = line()[:-1] + b',"subject":"T2"}'
    ((_, item),) = decoded([raw])
    assert isinstance(item, Event)
    assert item.ticket_id == "T2"


def test_a_bom_is_stripped_at_the_start_of_the_file_only() -> None:
    """A UTF-8 BOM before the first line made it invalid; now only a later one does."""
    items = decoded([b"\xef\xbb\xbf" + line(id="a"), line(id="b"), b"\xef\xbb\xbf" + line(id="c")])
    assert [type(item).__name__ for _, item in items] == ["Event", "Event", "InvalidEvent"]
    stream = io.BytesIO(b"\xef\xbb\xbf" + line(id="a") + b"\n" + line(id="b") + b"\n")
    assert [item.id for _, item in read_events(stream) if isinstance(item, Event)] == ["a", "b"]


def test_crlf_line_ends_are_fine() -> None:
    """Windows line ends: every line valid, blank CRLF lines skipped but counted as lines."""
    data = line(id="a") + b"\r\n\r\n" + line(id="b") + b"\r\n"
    for source in (io.BytesIO(data), data.splitlines(keepends=True)):
        items = list(read_events(source))
        assert [(n, item.id) for n, item in items if isinstance(item, Event)] == [
            (1, "a"),
            (3, "b"),
        ]
        assert len(items) == 2


def test_a_line_over_the_limit_costs_no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 10 MB line is invalid by its size alone: orjson never sees it."""
    seen: list[int] = []
    real = orjson.loads

    def counting(data: bytes) -> object:
        seen.append(len(data))
        return real(data)

    monkeypatch.setattr(orjson, "loads", counting)
    huge = b'{"id": "' + b"x" * 10_000_000 + b'"}'
    items = decoded([huge, line(), b" " * 10_000_000])
    assert seen == [len(line())]
    assert [n for n, _ in items] == [1, 2, 3]
    assert isinstance(items[0][1], InvalidEvent)
    assert items[0][1].reason == f"record of {len(huge)} {LIMIT_REASON}"
    assert isinstance(items[1][1], Event)
    assert isinstance(items[2][1], InvalidEvent)  # a huge blank line is too large, not blank


def test_a_stream_never_holds_a_huge_line() -> None:
    """From a stream, lines are read in bounded chunks: the huge one is skipped and sized."""
    huge = b"x" * (3 * MAX_RECORD_BYTES + 5)
    data = line(id="a") + b"\n" + huge + b"\r\n" + line(id="b") + b"\n" + huge
    reads: list[int] = []
    stream = io.BytesIO(data)
    readline = stream.readline

    class Spy:
        def readline(self, limit: int = -1) -> bytes:
            got = readline(limit)
            reads.append(len(got))
            return got

    items = list(read_events(Spy()))  # type: ignore[arg-type]
    assert max(reads) <= MAX_RECORD_BYTES + 2
    summary = [(n, getattr(item, "id", None) or getattr(item, "reason", "")) for n, item in items]
    assert summary == [
        (1, "a"),
        (2, f"record of {len(huge)} {LIMIT_REASON}"),
        (3, "b"),
        (4, f"record of {len(huge)} {LIMIT_REASON}"),
    ]


def test_a_line_of_exactly_the_limit_is_parsed() -> None:
    """262144 bytes of content plus a CRLF is within the limit (the line end does not count)."""
    base = line(type="ticket.responded", data=None)
    padded = base[:-1] + b" " * (MAX_RECORD_BYTES - len(base)) + b"}"
    assert len(padded) == MAX_RECORD_BYTES
    for source in (io.BytesIO(padded + b"\r\n"), [padded + b"\r\n"]):
        ((_, item),) = list(read_events(source))
        assert isinstance(item, Event)
    assert reason_of(padded + b" ") == f"record of {MAX_RECORD_BYTES + 1} {LIMIT_REASON}"


def test_a_reason_for_a_1mb_bad_field_is_short_and_does_not_contain_it() -> None:
    """A 200 KB field of e-mail addresses: the reason is short and quotes none of it."""
    emails = "customer@example.com;" * 10_000
    for raw in (line(subject=emails), line(data={"priority": emails}), line(specversion=emails),
                line(data={"priority": "P1", "region": emails}), line(time=emails)):  # fmt: skip
        reason = reason_of(raw)
        assert len(reason) <= MAX_REASON_CHARS
        assert reason.count("customer@example.com") <= 1


# -- fuzzing -----------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
FIELDS = ("specversion", "id", "source", "type", "subject", "time", "data")
DATA_FIELDS = ("priority", "service", "region", "customer_tier", "technician_id", "reason",
               "score", "first_time_fix")  # fmt: skip
INTERESTING = st.sampled_from(
    ["", "1.0", "P1", "P5", "onsite", "x" * 300, "\x00", "\ufffd", "2026-11-23T08:00:00Z",
     "0001-01-01T00:00:00+23:59", "2200-01-01T00:00:00Z", "\u0661\u0669\u0667\u0660",
     *sorted(EVENT_TYPES)]
)  # fmt: skip


@st.composite
def wrong_objects(draw: st.DrawFn) -> Any:
    """A valid envelope with fields dropped, replaced by any JSON, or added; sometimes no object."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    record = event(type=draw(st.sampled_from(sorted(EVENT_TYPES))))
    data = dict(record["data"])
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(FIELDS + DATA_FIELDS))
        target = data if key in DATA_FIELDS else record
        action = draw(st.integers(0, 2))
        if action == 0:
            target.pop(key, None)
        else:
            target[key] = draw(JSON if action == 1 else INTERESTING)
    if isinstance(record.get("data"), dict):
        record["data"] = data
    return record


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    """A valid line with a few bytes replaced, inserted or deleted."""
    raw = bytearray(line())
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.integers(0, 2))
        if action == 0 and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        elif action == 1:
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[at : at + draw(st.integers(1, 4))]
    return bytes(raw)


RAW_LINES = st.binary(max_size=200) | mutated_lines()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RAW_LINES, max_size=5))
def test_fuzz_raw_bytes_through_read_events(lines: list[bytes]) -> None:
    """Random and mutated bytes: only Events and bounded InvalidEvents, one per non-blank line."""
    items = decoded(lines)
    assert len(items) == sum(1 for i, raw in enumerate(lines)
                             if (raw[3:] if i == 0 and raw.startswith(b"\xef\xbb\xbf") else raw)
                             .strip())  # fmt: skip
    for _, item in items:
        assert_bounded(item)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(wrong_objects())
def test_fuzz_wrong_json_objects_through_read_events(obj: Any) -> None:
    """Structured but wrong JSON: an Event or a bounded InvalidEvent, nothing else."""
    ((_, item),) = decoded([orjson.dumps(obj)])
    assert_bounded(item)


HEADER_NAMES = st.sampled_from(
    ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "CE_ID",
     "content-type", "ce_", "ce_data"]
) | st.text(max_size=12)  # fmt: skip
HEADER_VALUES = st.none() | st.binary(max_size=30) | INTERESTING.map(str.encode)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.none() | st.binary(max_size=20) | st.just(b"T1"),
    value=st.none() | RAW_LINES | wrong_objects().map(orjson.dumps),
    headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8),
)
def test_fuzz_kafka_records_through_decode_record(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]
) -> None:
    """Any key, value and headers, structured or binary mode: Event or bounded InvalidEvent."""
    try:
        item: Event | InvalidEvent = decode_record(key, value, headers, 0)
    except InvalidEvent as exc:
        item = exc
    assert_bounded(item)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(["e", "T"]),
    headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=6),
    data=wrong_objects().map(lambda o: o.get("data") if isinstance(o, dict) else o),
)
def test_fuzz_binary_mode(key: str, headers: list[tuple[str, bytes | None]], data: Any) -> None:
    """A binary-mode record with valid ce_* headers plus random extra ones and random data."""
    base = [("ce_specversion", b"1.0"), ("ce_id", b"e-1"), ("ce_source", b"/s"),
            ("ce_type", b"ticket.created"), ("ce_subject", b"T1"),
            ("ce_time", b"2026-11-23T08:00:00Z")]  # fmt: skip
    try:
        item: Event | InvalidEvent = decode_record(
            key.encode() + b"1", orjson.dumps(data), [*base, *headers], 0
        )
    except InvalidEvent as exc:
        item = exc
    assert_bounded(item)


IDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1,
              max_size=200)  # fmt: skip
OPTIONAL = st.none() | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                               max_size=200)  # fmt: skip


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    ns = draw(st.integers(MIN_TIME_NS, MAX_TIME_NS - 1))
    data: dict[str, Any] = {"priority": draw(st.sampled_from(PRIORITIES)),
                            "service": draw(st.sampled_from(["onsite", "remote"]))}  # fmt: skip
    for key in ("region", "customer_tier"):
        value = draw(OPTIONAL)
        if value is not None:
            data[key] = value
    return {"specversion": "1.0", "id": draw(IDS), "source": draw(IDS),
            "type": "ticket.created", "subject": draw(IDS), "time": format_rfc3339(ns),
            "data": data}  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_valid_events_round_trip_through_both_decoders(record: dict[str, Any]) -> None:
    """A valid event decodes to the same fields from a line, a structured and a binary record."""
    raw = orjson.dumps(record)
    ((_, from_line),) = decoded([raw])
    assert isinstance(from_line, Event), from_line
    data = record["data"]
    envelope = (record["id"], record["subject"], record["source"], parse_rfc3339(record["time"]))
    assert (from_line.id, from_line.ticket_id, from_line.source, from_line.time) == envelope
    fields = (data["priority"], data["service"], data.get("region"), data.get("customer_tier"))
    assert (from_line.priority, from_line.service, from_line.region,
            from_line.customer_tier) == fields  # fmt: skip
    key = record["subject"].encode()
    assert decode_record(key, raw, [], 1) == from_line
    headers = [(f"ce_{name}", record[name].encode())
               for name in ("specversion", "id", "source", "type", "subject", "time")]  # fmt: skip
    assert decode_record(key, orjson.dumps(data), headers, 1) == from_line
