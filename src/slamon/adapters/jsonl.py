"""JSON Lines in and out: events with their line numbers, alerts, outcomes.

Input lines are hostile until validated: a line over ``MAX_RECORD_BYTES`` is
invalid before any parsing, a reason never quotes the line, a UTF-8 byte order
mark is stripped from the start of the file (only there), and CRLF line ends are
plain JSON whitespace. Limits and their reasons: docs/contract.md, "Limits".
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson

from slamon.core.events import MAX_RECORD_BYTES, Event, InvalidEvent, parse_event, too_large

BOM = b"\xef\xbb\xbf"
_NON_NUMBERS = (b"NaN", b"Infinity", b"-Infinity")


def json_error(data: bytes, exc: orjson.JSONDecodeError, what: str = "not valid JSON") -> str:
    """A short reason for ``data`` that orjson refused; it quotes none of ``data``."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"{what}: invalid UTF-8 at byte {bad.start}"
    rest = data[exc.pos : exc.pos + 9] if isinstance(exc.pos, int) else b""
    if rest.startswith(_NON_NUMBERS):
        return f"{what}: NaN and Infinity are not JSON numbers (at character {exc.pos})"
    return f"{what}: {exc.msg} (at character {exc.pos})"


def decode_line(line: bytes, lineno: int) -> Event:
    """One JSONL line to an Event; raises InvalidEvent with the reason."""
    if len(line) > MAX_RECORD_BYTES and _content_size(line) > MAX_RECORD_BYTES:
        raise too_large(_content_size(line))
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(json_error(line, exc)) from None
    if isinstance(obj, dict) and "data_base64" in obj:
        obj["data"] = _base64_data(obj)
    return parse_event(obj, lineno)


def _base64_data(obj: dict[str, Any]) -> Any:
    """``data_base64``, the JSON format's way to carry bytes (the CloudEvents SDK sends
    bytes data so), decoded; the bytes must be JSON, as ``data`` would be."""
    encoded = obj.pop("data_base64")
    if encoded is None:
        return obj.get("data")
    if obj.get("data") is not None:
        raise InvalidEvent("data and data_base64 are both set (an event carries one)")
    if not isinstance(encoded, str):
        raise InvalidEvent("data_base64 must be a base64 string")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise InvalidEvent("data_base64 is not valid base64") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(json_error(raw, exc, "data_base64 does not hold JSON")) from None


def _content_size(line: bytes) -> int:
    """Bytes of ``line`` without its line end (``\\n`` or ``\\r\\n``)."""
    return len(line) - (2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0)


def bounded_lines(readline: Callable[[int], bytes]) -> Iterator[bytes | int]:
    """The lines of a binary stream, at most ``MAX_RECORD_BYTES`` + a line end in memory
    at a time: a longer line is skipped and yielded as its size (an ``int``)."""
    limit = MAX_RECORD_BYTES + 2  # room for \r\n
    while line := readline(limit):
        if len(line) < limit or line.endswith(b"\n"):
            yield line
            continue
        size, last = len(line), line
        while (rest := readline(limit)) and not rest.endswith(b"\n"):
            size, last = size + len(rest), rest
        split_crlf = rest == b"\n" and last.endswith(b"\r")  # \r\n across two chunks
        yield size + _content_size(rest) - split_crlf


def read_events(
    lines: Iterable[bytes] | IO[bytes],
) -> Iterator[tuple[int, Event | InvalidEvent]]:
    """Yield ``(line number, Event or InvalidEvent)``; blank lines are skipped, not counted.

    ``lines`` is an iterable of lines, or a binary stream, read by :func:`bounded_lines`
    so that one huge line never sits in memory. A UTF-8 byte order mark at the start of
    the first line is not part of the data.
    """
    readline = getattr(lines, "readline", None)
    items: Iterable[bytes | int] = lines if readline is None else bounded_lines(readline)
    for lineno, item in enumerate(items, start=1):
        if isinstance(item, int):
            yield lineno, too_large(item)
            continue
        line = item[len(BOM) :] if lineno == 1 and item.startswith(BOM) else item
        # a line that opens an object is not blank (no copy of it made to find out)
        if line[:1] != b"{" and len(line) <= MAX_RECORD_BYTES + 2 and not line.strip():
            continue  # blank (a huge one is too large, not blank)
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
