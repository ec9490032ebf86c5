"""Ticket lifecycle events: the CloudEvents envelope, validated into a compact record.

``parse_event`` is the single validation point for every shell (replay, Kafka worker):
it turns a decoded JSON object into an :class:`Event` or raises :class:`InvalidEvent`
with a reason a platform engineer can act on. Every input is bounded (docs/contract.md,
"Limits"): a reason is at most :data:`MAX_REASON_CHARS` characters and quotes at most
a short excerpt of an offending value, never the value itself.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from slamon.core.policy import PRIORITIES
from slamon.core.text import clip, excerpt
from slamon.core.timefmt import parse_rfc3339

CREATED = "ticket.created"
RESPONDED = "ticket.responded"
DISPATCHED = "technician.dispatched"
ARRIVED = "technician.arrived"
PAUSED = "ticket.paused"
RESUMED = "ticket.resumed"
PRIORITY_CHANGED = "ticket.priority_changed"
RESOLVED = "ticket.resolved"
REOPENED = "ticket.reopened"
CLOSED = "ticket.closed"
CANCELLED = "ticket.cancelled"
SURVEY = "survey.submitted"
COMPLAINT_FILED = "complaint.filed"
COMPLAINT_RESOLVED = "complaint.resolved"
UPDATED = "ticket.updated"  # new attribute values: reselects the SLA terms from creation

EVENT_TYPES: frozenset[str] = frozenset(
    {
        CREATED, RESPONDED, DISPATCHED, ARRIVED, PAUSED, RESUMED, PRIORITY_CHANGED,
        RESOLVED, REOPENED, CLOSED, CANCELLED, SURVEY, COMPLAINT_FILED, COMPLAINT_RESOLVED,
        UPDATED,
    }
)  # fmt: skip
SERVICES = frozenset({"onsite", "remote"})
_PRIORITY_SET = frozenset(PRIORITIES)

MAX_RECORD_BYTES = 256 * 1024  # a JSONL line or a Kafka record (key + value + headers)
MAX_ID_CHARS = 200  # id and subject (the ticket id)
MAX_SOURCE_CHARS = 400
MAX_DATA_CHARS = 200  # each string the core reads from data (region, reason, ...)
MAX_REASON_CHARS = 200
_ENVELOPE = (("id", MAX_ID_CHARS), ("source", MAX_SOURCE_CHARS), ("type", 64),
             ("subject", MAX_ID_CHARS), ("time", 64))  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1: not in an identifier


class InvalidEvent(ValueError):
    """An input record that is not a valid ticket event; ``reason`` says why.

    The reason is cut to :data:`MAX_REASON_CHARS` characters whatever the caller built.
    """

    def __init__(self, reason: str) -> None:
        reason = clip(reason, MAX_REASON_CHARS)
        super().__init__(reason)
        self.reason = reason


def too_large(size: int) -> InvalidEvent:
    """The reason for a record over :data:`MAX_RECORD_BYTES` (checked before parsing)."""
    return InvalidEvent(f"record of {size} bytes exceeds the {MAX_RECORD_BYTES}-byte limit")


class Event(NamedTuple):
    """One valid event. ``seq`` orders events with equal ``time`` (log line, offset)."""

    id: str
    type: str
    ticket_id: str
    time: int
    seq: int
    source: str = ""
    priority: str | None = None
    service: str | None = None
    region: str | None = None
    customer_tier: str | None = None
    technician_id: str | None = None
    reason: str | None = None
    first_time_fix: bool | None = None
    score: int | None = None
    # appended last: a stored snapshot's events without them still load (core.live)
    asset_id: str | None = None
    product_category: str | None = None


_SHARED: dict[str, str] = {s: s for s in (*EVENT_TYPES, *PRIORITIES, *SERVICES)}
_SHARED_MAX = 1 << 16


def shared(value: str) -> str:
    """One object per distinct low-cardinality string (types, sources, regions...).

    A worker holds every open ticket's events: repeated copies of the same few
    strings would be most of its memory. The table is bounded; past it, no sharing.
    """
    got = _SHARED.get(value)
    if got is not None:
        return got
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[value] = value
    return value


def compact(event: Event) -> Event:
    """``event`` with its repeated strings shared (for events rebuilt from storage)."""
    return event._replace(
        type=shared(event.type),
        source=shared(event.source),
        priority=None if event.priority is None else shared(event.priority),
        service=None if event.service is None else shared(event.service),
        region=None if event.region is None else shared(event.region),
        customer_tier=None if event.customer_tier is None else shared(event.customer_tier),
        technician_id=None if event.technician_id is None else shared(event.technician_id),
        reason=None if event.reason is None else shared(event.reason),
        product_category=(
            None if event.product_category is None else shared(event.product_category)
        ),
    )  # asset_id stays unshared: one per device, it would only fill the table


def _opt_str(data: dict[str, Any], key: str, share: bool = True) -> str | None:
    value = data.get(key)
    if not isinstance(value, str):
        return None
    if len(value) > MAX_DATA_CHARS:
        raise InvalidEvent(f"data.{key} is {len(value)} characters, more than {MAX_DATA_CHARS}")
    if not share:
        return value
    return _SHARED.get(value) or shared(value)  # the table's hit without a call


def _priority(data: dict[str, Any]) -> str:
    value = data.get("priority")
    if value is None:
        raise InvalidEvent("data.priority is required")
    if not isinstance(value, str) or value not in _PRIORITY_SET:
        raise InvalidEvent(
            f"data.priority must be one of {', '.join(PRIORITIES)}, got {excerpt(value)}"
        )
    return _SHARED[value]  # every priority is in the table from the start


def _envelope_error(obj: dict[str, Any]) -> InvalidEvent | None:
    """The first envelope attribute that is not a string of 1..limit characters, if any."""
    for key, limit in _ENVELOPE:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            return InvalidEvent(f"{key} must be a non-empty string")
        if len(value) > limit:
            return InvalidEvent(f"{key} is {len(value)} characters, more than {limit}")
    return None


def _control_error(obj: dict[str, Any]) -> InvalidEvent | None:
    for key in ("id", "subject", "source"):
        if _CONTROL.search(obj[key]):
            return InvalidEvent(f"{key} contains a control character")
    return None  # not printable (e.g. U+00A0), yet no control character


def parse_event(obj: Any, seq: int) -> Event:
    """Validate a decoded CloudEvent (structured JSON) into an :class:`Event`."""
    if not isinstance(obj, dict):
        raise InvalidEvent("event must be a JSON object")
    if obj.get("specversion") != "1.0":
        raise InvalidEvent(f"specversion must be '1.0', got {excerpt(obj.get('specversion'))}")
    get = obj.get
    ident, source, etype, subject, when = (
        get("id"), get("source"), get("type"), get("subject"), get("time")
    )  # fmt: skip
    # the hot path: one chained test; the slow path says which attribute and why
    if not (
        type(ident) is type(source) is type(etype) is type(subject) is type(when) is str
        and 0 < len(ident) <= MAX_ID_CHARS and 0 < len(subject) <= MAX_ID_CHARS
        and 0 < len(source) <= MAX_SOURCE_CHARS and 0 < len(etype) <= 64 and 0 < len(when) <= 64
    ):  # fmt: skip
        raise _envelope_error(obj) or InvalidEvent("invalid envelope")
    ids = ident + subject + source
    if not ids.isprintable() and (error := _control_error(obj)) is not None:
        raise error  # isprintable() is True for any ASCII text without control characters
    if etype not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {excerpt(etype)}")
    try:
        time = parse_rfc3339(when)
    except ValueError as exc:
        raise InvalidEvent(f"time: {exc}") from None
    data = obj.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise InvalidEvent("data must be a JSON object")
    return _build(etype, obj, time, seq, data)


# an Event straight from its 16 fields: Event(...) with keywords runs a Python-level
# __new__ (~1 µs a created event); the field order is Event's
_event = tuple.__new__
_UNSET_3, _UNSET_4, _UNSET_5, _UNSET_6 = (None,) * 3, (None,) * 4, (None,) * 5, (None,) * 6
_UNSET_10 = (None,) * 10  # priority .. product_category: a plain event's attributes


def _build(etype: str, obj: dict[str, Any], time: int, seq: int, data: dict[str, Any]) -> Event:
    source = obj["source"]
    # etype is one of EVENT_TYPES, each in the table from the start
    base = (obj["id"], _SHARED[etype], obj["subject"], time, seq,
            _SHARED.get(source) or shared(source))  # fmt: skip
    if etype == CREATED:
        service = data.get("service", "remote")
        if not isinstance(service, str) or service not in SERVICES:
            raise InvalidEvent(f"data.service must be 'onsite' or 'remote', got {excerpt(service)}")
        priority, region = _priority(data), _opt_str(data, "region")
        tier, asset = _opt_str(data, "customer_tier"), _opt_str(data, "asset_id", share=False)
        category = _opt_str(data, "product_category")
        return _event(Event, (*base, priority, _SHARED[service], region, tier, *_UNSET_4,
                              asset, category))  # fmt: skip
    if etype == UPDATED:  # absent attributes stay as they are; service is fixed at creation
        region, tier = _opt_str(data, "region"), _opt_str(data, "customer_tier")
        category = _opt_str(data, "product_category")
        return _event(Event, (*base, None, None, region, tier, *_UNSET_5, category))
    if etype == PRIORITY_CHANGED:
        return _event(Event, (*base, _priority(data), *_UNSET_3, *_UNSET_6))
    if etype == SURVEY:
        score = data.get("score")
        # bool is an int subclass in Python; JSON true is not a score.
        if type(score) is not int:
            raise InvalidEvent(f"data.score must be a JSON integer, got {excerpt(score)}")
        if not 1 <= score <= 10:
            raise InvalidEvent(f"data.score must be within 1..10, got {excerpt(score)}")
        return _event(Event, (*base, *_UNSET_6, None, score, None, None))
    if etype == RESOLVED:
        flag = data.get("first_time_fix")
        flag = flag if isinstance(flag, bool) else None
        technician = _opt_str(data, "technician_id")
        return _event(Event, (*base, None, None, None, None, technician, None, flag, *_UNSET_3))
    if etype in (DISPATCHED, ARRIVED):
        technician = _opt_str(data, "technician_id")
        return _event(Event, (*base, None, None, None, None, technician, *_UNSET_5))
    if etype in (PAUSED, COMPLAINT_FILED, COMPLAINT_RESOLVED):
        reason = _opt_str(data, "reason")
        return _event(Event, (*base, None, None, None, None, None, reason, *_UNSET_4))
    return _event(Event, base + _UNSET_10)
