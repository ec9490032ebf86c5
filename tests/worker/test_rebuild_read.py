"""Reading a recovered table for the rebuild, in slices (worker/rebuild.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from slamon.worker import rebuild


@pytest.mark.asyncio
async def test_the_whole_table_is_read_across_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """More snapshots than a slice: all of them, the loop yielded to in between."""
    monkeypatch.setattr(rebuild, "READ_SLICE", 7)
    table = {f"T-{i}".encode(): f"s{i}".encode() for i in range(50)}
    assert await rebuild.read_table(table, lambda: False) == table


@pytest.mark.asyncio
async def test_a_rebalance_during_the_read_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A revocation between two slices: nothing is returned (the recovery that follows
    reads again), also when the walk itself fails because a partition went away."""
    monkeypatch.setattr(rebuild, "READ_SLICE", 7)
    table = {f"T-{i}".encode(): b"s" for i in range(50)}
    calls = iter([False, True])
    assert await rebuild.read_table(table, lambda: next(calls, True)) is None

    class Vanishing(dict[bytes, bytes]):
        def items(self) -> Iterator[tuple[bytes, bytes]]:  # type: ignore[override]
            yield b"T-1", b"s"
            raise RuntimeError("dictionary changed size during iteration")

    assert await rebuild.read_table(Vanishing(), lambda: True) is None
    with pytest.raises(RuntimeError):
        await rebuild.read_table(Vanishing(), lambda: False)
