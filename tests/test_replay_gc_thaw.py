"""After a replay its objects sit in the oldest generation (no young collection walks
them), and objects someone else froze stay frozen."""

from __future__ import annotations

import gc

from slamon.replay import cyclic_gc_paused


def test_objects_allocated_inside_end_in_the_oldest_generation() -> None:
    """(Earlier tests' rebuilds may have frozen objects: thawed first, or nothing moves.)"""
    gc.unfreeze()
    with cyclic_gc_paused():
        kept = [[i] for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.get_count()[0] < 1000  # not left in the youngest generation
    assert len(kept) == 1000


def test_a_frozen_heap_is_left_frozen() -> None:
    """Someone else's frozen objects stay frozen after a replay."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with cyclic_gc_paused():
            kept = [[i] for i in range(100)]
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
        assert len(kept) == 100
    finally:
        gc.unfreeze()
