"""`slamon replay`: run a recorded event log through the engine, no broker needed.

This shell only reads the lines; the replay rules (dedupe in log order, stable
event-time order, the cut-off at ``until``, deadlines fired between events) are the
core's, in :mod:`slamon.core.replay`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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
    return replay_events(read_events(lines), policy, until=until, progress=progress, by=by)
