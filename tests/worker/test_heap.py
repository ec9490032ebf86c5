"""What a rebuild builds is frozen out of the cyclic collector's sight (worker/heap.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from slamon.worker import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """The test process's collector as it was: frozen objects back in the oldest generation."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_what_is_built_is_frozen_and_the_collector_is_off_meanwhile() -> None:
    """Inside, no automatic collection; after, what survives is frozen (a full collection
    no longer walks it) and the collector is on again."""
    gc.enable()
    with heap.building():
        assert not gc.isenabled()
        kept = [Node() for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)
    assert not any(gc.is_tracked(n) and n in gc.get_objects(generation=2) for n in kept[:5])


def test_a_cycle_dropped_while_building_is_collected_at_the_next_settle() -> None:
    """Garbage cycles made meanwhile are not frozen with the rest: a settle collects them."""
    with heap.building():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None  # a cycle: reference counting alone cannot free it
        heap.settle()
        assert gone() is None


def test_a_collector_that_was_off_stays_off() -> None:
    """Someone else's choice (replay turns it off for its run) is kept."""
    gc.disable()
    with heap.building():
        pass
    assert not gc.isenabled()
