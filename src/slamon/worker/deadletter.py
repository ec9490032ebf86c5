"""The dead-letter record of an input the worker could not use: bounded, with the reason.

A dead letter must fit the broker's default 1 MiB record limit whatever came in, so
the original value, headers and key are cut beyond their bounds, each with a marker.
"""

from __future__ import annotations

from slamon.worker.ports import Record, headers_of

MAX_DEAD_LETTER_BYTES = 512 * 1024  # of the original value; the rest is cut, with a marker
MAX_DEAD_LETTER_HEADER_BYTES = 64 * 1024  # of the original headers; dropped beyond, with a marker
MAX_KEY_BYTES = 4096

Headers = list[tuple[str, bytes]]


def dead_letter(record: Record, reason: str) -> tuple[bytes | None, bytes | None, Headers]:
    """Key, value and headers of ``record``'s dead letter; ``reason`` is already clipped."""
    value, headers = record.value, headers_of(record)
    extra = []
    if value is not None and len(value) > MAX_DEAD_LETTER_BYTES:
        extra.append(("slamon_truncated_from", str(len(value)).encode()))
        value = value[:MAX_DEAD_LETTER_BYTES]
    if sum(len(k) + len(v) for k, v in headers) > MAX_DEAD_LETTER_HEADER_BYTES:
        extra.append(("slamon_headers_dropped", str(len(headers)).encode()))
        headers = []
    headers = [
        *headers,
        ("slamon_error", reason.encode()),
        ("slamon_source_topic", record.topic.encode()),
        ("slamon_source_partition", str(record.partition).encode()),
        ("slamon_source_offset", str(record.offset).encode()),
        *extra,
    ]
    key = record.key
    if key is not None and len(key) > MAX_KEY_BYTES:
        headers.append(("slamon_key_truncated_from", str(len(key)).encode()))
        key = key[:MAX_KEY_BYTES]
    return key, value, headers
