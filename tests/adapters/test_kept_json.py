"""Table values are JSON bytes of their own size, not orjson's 4 KiB buffers."""

from __future__ import annotations

import tracemalloc

import orjson

from slamon.adapters.kept_json import dumps_kept

SNAPSHOT = [1, 0, None, 0, 0, 0, [0, 0, 0], [["TCK-1-ticket.created", "ticket.created",
            "TCK-1", 1796145908411110684, 16, "/platform", "P1", "remote"]]]  # fmt: skip


def _bytes_per_value(make: object, count: int = 2000) -> float:
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        kept = [make(SNAPSHOT) for _ in range(count)]  # type: ignore[operator]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    return sum(s.size_diff for s in after.compare_to(before, "lineno")) / count


def test_the_same_bytes_as_orjson() -> None:
    """Same JSON, same bytes type: readers cannot tell."""
    assert dumps_kept(SNAPSHOT) == orjson.dumps(SNAPSHOT)
    assert type(dumps_kept(SNAPSHOT)) is bytes
    assert orjson.loads(dumps_kept(SNAPSHOT)) == SNAPSHOT


def test_a_kept_value_costs_its_length_not_a_buffer() -> None:
    """Under 2x its length (plus the object header), where orjson's own output may hold
    a 4 KiB buffer: the check shows which one a new orjson release does."""
    length = len(orjson.dumps(SNAPSHOT))
    assert _bytes_per_value(dumps_kept) < 2 * length + 64
