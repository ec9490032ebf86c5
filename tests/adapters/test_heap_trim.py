"""Free heap pages handed back to the system after a burst (adapters/heap_trim.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from slamon.adapters.heap_trim import HeapTrimmer, glibc, resident_bytes

MIB = 2**20


class FakeLibc:
    """mallinfo2's free bytes as the test sets them; malloc_trim releases ``release``."""

    def __init__(self) -> None:
        self.free = 0
        self.trims = 0
        self.resident = 500 * MIB
        self.release = 3 * MIB

    def mallinfo2(self) -> SimpleNamespace:
        return SimpleNamespace(fordblks=self.free)

    def malloc_trim(self, pad: int) -> int:
        assert pad == 0
        self.trims += 1
        self.resident -= self.release
        return 1


def _trimmer(libc: FakeLibc) -> HeapTrimmer:
    return HeapTrimmer(libc, threshold=8 * MIB, resident=lambda: libc.resident)


def test_no_trim_until_the_free_bytes_reach_the_threshold() -> None:
    """A heap with less than the threshold free is left alone."""
    libc = FakeLibc()
    trimmer = _trimmer(libc)
    libc.free = 8 * MIB - 1
    assert trimmer.maybe_trim() == 0
    assert libc.trims == 0
    libc.free = 8 * MIB
    assert trimmer.maybe_trim() == 3 * MIB
    assert (libc.trims, trimmer.trims, trimmer.released) == (1, 1, 3 * MIB)


def test_released_pages_still_counted_free_do_not_trim_again() -> None:
    """After a trim the freed chunks stay free to malloc: only new growth trims again."""
    libc = FakeLibc()
    trimmer = _trimmer(libc)
    libc.free = 20 * MIB
    trimmer.maybe_trim()
    for _ in range(5):
        assert trimmer.maybe_trim() == 0
    libc.free = 27 * MIB  # grew by less than the threshold
    trimmer.maybe_trim()
    libc.free = 28 * MIB  # by the threshold
    trimmer.maybe_trim()
    assert libc.trims == 2


def test_reused_free_memory_lowers_the_base() -> None:
    """Free chunks malloc used again, then freed again, count as new growth."""
    libc = FakeLibc()
    trimmer = _trimmer(libc)
    libc.free = 20 * MIB
    trimmer.maybe_trim()
    libc.free = 2 * MIB  # the next burst took them
    trimmer.maybe_trim()
    libc.free = 10 * MIB  # and freed 8 MiB again
    trimmer.maybe_trim()
    assert libc.trims == 2


def test_without_glibc_nothing_is_done() -> None:
    """Another C library: disabled, no call, the counters stay at zero; run() returns."""
    trimmer = HeapTrimmer(None)
    assert not trimmer.enabled
    assert trimmer.maybe_trim() == 0
    asyncio.run(asyncio.wait_for(trimmer.run(every_s=0.01), timeout=1))


def test_the_counters_are_exported() -> None:
    """/metrics shows how often the heap was trimmed and how much was handed back."""
    libc = FakeLibc()
    trimmer = _trimmer(libc)
    libc.free = 9 * MIB
    trimmer.maybe_trim()
    registry = CollectorRegistry()
    registry.register(trimmer)
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert samples["slamon_heap_trims_total"] == 1
    assert samples["slamon_heap_released_bytes_total"] == 3 * MIB


@pytest.mark.skipif(glibc() is None, reason="glibc's malloc_trim only")
def test_a_fragmented_heap_is_handed_back_to_the_system() -> None:
    """Real glibc: chunks freed between survivors stay resident until the trimmer runs."""
    trimmer = HeapTrimmer(glibc(), threshold=8 * MIB)
    trimmer.maybe_trim()  # whatever the test session freed before
    chunks = [bytearray(2000) for _ in range(60_000)]  # ~115 MiB of 2 KB heap chunks
    for chunk in chunks:
        chunk[::512] = b"x" * len(chunk[::512])  # touch every page
    survivors = chunks[::32]  # pin the heap: nothing frees from its top
    del chunks
    assert trimmer.free_bytes() > 80 * MIB
    before = resident_bytes()
    released = trimmer.maybe_trim()
    assert released > 60 * MIB
    assert resident_bytes() < before - 60 * MIB
    assert len(survivors) == 1875
