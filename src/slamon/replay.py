"""`slamon replay`: run a recorded event log through the engine, no broker needed.

Events are validated and deduplicated in log order, then applied in stable
event-time order; ``advance`` between events fires deadlines that passed with no
event, exactly as the worker's timer does on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from slamon.adapters.jsonl import read_events
from slamon.core.aggregates import quality_figures, sla_table
from slamon.core.decisions import Alert, Outcome
from slamon.core.engine import Engine
from slamon.core.events import Event, InvalidEvent
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import format_rfc3339


@dataclass(slots=True)
class ReplayResult:
    """Everything a replay decided, plus the input accounting."""

    until: int | None
    processed: int
    duplicates: int
    orphans: int
    invalid: list[tuple[int, str]]
    alerts: list[Alert]
    outcomes: list[Outcome]
    quality: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {
            "until": None if self.until is None else format_rfc3339(self.until),
            "events": {
                "processed": self.processed,
                "invalid": len(self.invalid),
                "duplicates": self.duplicates,
                "orphans": self.orphans,
            },
            "slas": sla_table(self.outcomes),
            "quality": self.quality,
        }


def replay(
    lines: Iterable[bytes],
    policy: SlaPolicy,
    until: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay JSONL ``lines`` under ``policy``, evaluating at ``until`` (default: last event)."""
    engine = Engine(policy)
    admitted: list[Event] = []
    invalid: list[tuple[int, str]] = []
    for lineno, item in read_events(lines):
        if isinstance(item, InvalidEvent):
            invalid.append((lineno, item.reason))
        elif engine.admit(item):
            admitted.append(item)
        if progress is not None and lineno % 50_000 == 0:
            progress(lineno)
    if until is None and admitted:
        until = max(event.time for event in admitted)
    alerts: list[Alert] = []
    if until is not None:
        admitted.sort(key=attrgetter("time"))  # stable: ties keep log order
        heap = engine.schedule  # peeked here: most events have nothing due before them
        for event in admitted:
            at = event.time
            if at > until:
                break
            if heap and heap[0][0] < at:
                alerts += engine.advance(at)
            alerts += engine.apply(event, at)
        alerts += engine.advance(until)
    outcomes = list(engine.outcomes(until)) if until is not None else []
    return ReplayResult(
        until=until,
        processed=len(admitted),
        duplicates=engine.duplicates,
        orphans=engine.orphan_events(),
        invalid=invalid,
        alerts=alerts,
        outcomes=outcomes,
        quality=quality_figures(t.fold for t in engine.tickets.values()),
    )
