"""Heap pages the allocator keeps after a burst, handed back to the system.

glibc's malloc gives memory back to the kernel only from the top of its heap: what a
burst frees in the middle (fetched record batches, snapshot bytes, rocksdb's buffers)
stays resident, pinned by the long-lived tickets allocated around it. Measured: 20-26
MiB free inside the heap after a worker read 100,000 new tickets, ~15% of its RSS
(docs/benchmarks.md). ``malloc_trim(0)`` releases the free pages in place (nothing
moves; a few ms); it is called when the heap's free bytes have grown by
:data:`THRESHOLD_BYTES` since the last call. Where the C library is not glibc (musl,
jemalloc preloaded, macOS) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

log = structlog.get_logger("slamon.worker")

THRESHOLD_BYTES = 2 * 2**20  # free heap grown this much since the last trim: trim
CHECK_EVERY_S = 2.0  # mallinfo2 walks the free lists: well under 1 ms at 100k tickets


_MALLINFO2_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")  # fmt: skip


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]


def glibc() -> Any | None:
    """This process's C library if it is glibc >= 2.33 (``mallinfo2``), else None."""
    try:
        libc = ctypes.CDLL(None)
        mallinfo2, malloc_trim = libc.mallinfo2, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    mallinfo2.restype, mallinfo2.argtypes = _MallInfo2, []
    malloc_trim.restype, malloc_trim.argtypes = ctypes.c_int, [ctypes.c_size_t]
    return libc


def resident_bytes() -> int:
    """This process's RSS from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class HeapTrimmer(Collector):
    """Trims the heap when enough was freed; ``slamon_heap_trims_total`` and
    ``slamon_heap_released_bytes_total`` say how often and how much it gave back."""

    def __init__(
        self,
        libc: Any | None,
        threshold: int = THRESHOLD_BYTES,
        resident: Callable[[], int] = resident_bytes,
    ) -> None:
        self._libc = libc
        self.threshold = threshold
        self._resident = resident
        self._base = 0  # free bytes after the last trim (they stay counted)
        self.trims = 0
        self.released = 0

    @property
    def enabled(self) -> bool:
        return self._libc is not None

    def free_bytes(self) -> int:
        """Bytes free inside the heap, released to the system or not."""
        return int(self._libc.mallinfo2().fordblks) if self._libc is not None else 0

    def maybe_trim(self) -> int:
        """Trim if the free bytes grew by ``threshold`` since the last trim; bytes released."""
        if self._libc is None:
            return 0
        free = self.free_bytes()
        self._base = min(self._base, free)  # reused since: a lower base
        if free - self._base < self.threshold:
            return 0
        before = self._resident()
        self._libc.malloc_trim(0)
        released = max(0, before - self._resident())
        self._base = self.free_bytes()  # pages released are still free chunks to malloc
        self.trims += 1
        self.released += released
        log.debug("heap trimmed", free_mib=free >> 20, released_mib=released >> 20)
        return released

    async def run(self, every_s: float = CHECK_EVERY_S) -> None:
        """Check every ``every_s`` seconds, for as long as the worker runs."""
        while self._libc is not None:
            await asyncio.sleep(every_s)
            self.maybe_trim()

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "slamon_heap_trims",
            "Times the worker handed free heap pages back to the system (glibc malloc_trim).",
            value=self.trims,
        )
        yield CounterMetricFamily(
            "slamon_heap_released_bytes",
            "Resident memory those trims handed back to the system.",
            value=self.released,
        )
