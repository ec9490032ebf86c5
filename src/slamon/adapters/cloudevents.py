"""CloudEvents on Kafka: ticket events in (structured or binary mode), alerts out.

Structured mode: the record value is the whole event as JSON. Binary mode (the
CloudEvents Kafka protocol binding): attributes travel as ``ce_*`` headers and
the value is ``data``. Both end in the same validation (``parse_event``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from slamon.adapters.jsonl import decode_line
from slamon.core.decisions import Alert, Outcome
from slamon.core.events import Event, InvalidEvent, parse_event
from slamon.core.timefmt import format_rfc3339

Headers = Iterable[tuple[str, bytes | None]]
CE_PREFIX = "ce_"
ALERT_SOURCE = "/slamon"


def _attributes(headers: Headers) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, raw in headers:
        lowered = name.lower()
        if lowered.startswith(CE_PREFIX) and raw is not None:
            try:
                attrs[lowered[len(CE_PREFIX) :]] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidEvent(f"header {name} is not UTF-8") from None
    return attrs


def decode_record(key: bytes | None, value: bytes | None, headers: Headers, seq: int) -> Event:
    """A Kafka record to an :class:`Event`; raises InvalidEvent with the reason.

    The record key must be the ticket id: a ticket's events must share a partition,
    or its SLA state would be split between workers.
    """
    headers = list(headers)
    attrs = _attributes(headers)
    if "specversion" in attrs:  # binary mode: value is data
        obj: dict[str, Any] = dict(attrs)
        if value:
            try:
                obj["data"] = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise InvalidEvent(f"data is not valid JSON: {exc}") from None
        event = parse_event(obj, seq)
    elif value is None:
        raise InvalidEvent("empty record (no value, no ce_specversion header)")
    else:  # structured mode: the value is a JSON line like replay's
        event = decode_line(value, seq)
    ticket = key.decode("utf-8", "replace") if key is not None else None
    if ticket != event.ticket_id:
        raise InvalidEvent(f"record key {ticket!r} must be the ticket id {event.ticket_id!r}")
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
