"""JSON Lines in and out: events with their line numbers, alerts, outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from slamon.core.events import Event, InvalidEvent, parse_event


def decode_line(line: bytes, lineno: int) -> Event:
    """One JSONL line to an Event; raises InvalidEvent with the reason."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None
    return parse_event(obj, lineno)


def read_events(lines: Iterable[bytes]) -> Iterator[tuple[int, Event | InvalidEvent]]:
    """Yield ``(line number, Event or InvalidEvent)``; blank lines are skipped, not counted."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield lineno, decode_line(line, lineno)
        except InvalidEvent as exc:
            yield lineno, exc


def write_jsonl(out: IO[bytes], records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line; returns the count."""
    count = 0
    for record in records:
        out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        count += 1
    return count
