"""`slamon replay`: run a recorded event log through the engine, no broker needed.

This shell only reads the lines; the replay rules (dedupe in log order, stable
event-time order, the cut-off at ``until``, deadlines fired between events) are the
core's, in :mod:`slamon.core.replay`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from slamon.adapters.jsonl import read_events
from slamon.core.policy import SlaPolicy
from slamon.core.replay import ReplayResult, replay_events

__all__ = ["ReplayResult", "replay"]


def replay(
    lines: Iterable[bytes],
    policy: SlaPolicy,
    until: int | None = None,
    progress: Callable[[int], None] | None = None,
    by: Sequence[str] = (),
) -> ReplayResult:
    """Replay JSONL ``lines`` under ``policy``, evaluating at ``until`` (default: last event);
    ``by``: the breakdown dimensions."""
    with cyclic_gc_paused():
        return replay_events(read_events(lines), policy, until=until, progress=progress, by=by)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (the previous setting is restored after).

    A replay allocates millions of objects that live to its end (events, tickets, folds)
    and makes no reference cycles of its own: the collector's full passes over them were
    ~20% of a replay's time, for nothing. Reference counting still frees everything else.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:  # (nobody else's frozen objects to thaw)
                # what the replay allocated is long-lived (the result): straight to the
                # oldest generation, or the first young collection after this walks it all
                gc.freeze()
                gc.unfreeze()
            gc.enable()
