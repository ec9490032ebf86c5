"""CloudEvents on Kafka: ticket events in (structured or binary mode), alerts out.

Structured mode: the record value is the whole event as JSON (``data``, or
``data_base64`` decoded as JSONL lines are). Binary mode (the CloudEvents Kafka
protocol binding): attributes travel as ``ce_*`` headers and the value is ``data``.
Both end in the same validation (``parse_event``). The key is read, never the
``partitionkey`` extension (the binding's way for a producer to set the key).

A record over ``MAX_RECORD_BYTES`` (key + value + headers) is invalid before any
parsing; the key must be valid UTF-8 (never replaced with U+FFFD, which would make
distinct keys collide); a ``ce_*`` header must be UTF-8, have a value and appear once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from slamon.adapters.jsonl import decode_line, json_error
from slamon.core.decisions import Alert, Outcome
from slamon.core.events import MAX_RECORD_BYTES, Event, InvalidEvent, parse_event, too_large
from slamon.core.text import clip, excerpt
from slamon.core.timefmt import format_rfc3339

Headers = Iterable[tuple[str, bytes | None]]
CE_PREFIX = "ce_"
ALERT_SOURCE = "/slamon"


def _attributes(headers: list[tuple[str, bytes | None]]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, raw in headers:
        lowered = name.lower()
        if not lowered.startswith(CE_PREFIX):
            continue
        attr = lowered[len(CE_PREFIX) :]
        if attr in attrs:
            raise InvalidEvent(f"header {clip(name, 40)} appears more than once")
        if raw is None:
            raise InvalidEvent(f"header {clip(name, 40)} has no value")
        try:
            attrs[attr] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent(f"header {clip(name, 40)} is not UTF-8") from None
    return attrs


def _size(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]) -> int:
    size = len(key or b"") + len(value or b"")
    return size + sum(len(name) + len(raw or b"") for name, raw in headers)


def decode_record(key: bytes | None, value: bytes | None, headers: Headers, seq: int) -> Event:
    """A Kafka record to an :class:`Event`; raises InvalidEvent with the reason.

    The record key must be the ticket id: a ticket's events must share a partition,
    or its SLA state would be split between workers.
    """
    headers = list(headers)
    size = _size(key, value, headers)
    if size > MAX_RECORD_BYTES:
        raise too_large(size)
    attrs = _attributes(headers)
    if "specversion" in attrs:  # binary mode: value is data
        obj: dict[str, Any] = dict(attrs)
        if value:
            try:
                obj["data"] = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise InvalidEvent(json_error(value, exc, "data is not valid JSON")) from None
        event = parse_event(obj, seq)
    elif value is None:
        raise InvalidEvent("empty record (no value, no ce_specversion header)")
    else:  # structured mode: the value is a JSON line like replay's
        event = decode_line(value, seq)
    try:
        ticket = key.decode("utf-8") if key is not None else None
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"record key is not valid UTF-8 (byte {exc.start})") from None
    if ticket != event.ticket_id:
        raise InvalidEvent(
            f"record key {excerpt(ticket)} must be the ticket id {excerpt(event.ticket_id)}"
        )
    return event


def encode_alert(alert: Alert, detected_at: int) -> bytes:
    """An alert as a structured CloudEvent; ``time`` is the alert's instant."""
    data = alert.to_dict()
    data["detected_at"] = format_rfc3339(detected_at)
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": alert.id,
            "source": ALERT_SOURCE,
            "type": alert.type,
            "subject": alert.ticket_id,
            "time": data["at"],
            "datacontenttype": "application/json",
            "data": data,
        }
    )


def encode_outcome(outcome: Outcome, recorded_at: int) -> bytes:
    record = outcome.to_dict()
    record["recorded_at"] = format_rfc3339(recorded_at)
    return orjson.dumps(record)


def alert_said(value: bytes | None) -> tuple[str, str, str, str] | None:
    """An alert record read back as (subject, sla, type, id); None for anything else."""
    try:
        record = orjson.loads(value or b"")
        fields = (record["subject"], record["data"]["sla"], record["type"], record["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return fields if all(isinstance(f, str) for f in fields) else None
