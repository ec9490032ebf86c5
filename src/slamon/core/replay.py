"""Replay: a recorded log through the engine, in the order docs/contract.md defines.

The rules that make a replay the reference answer live here, not in a shell:
validity first, then duplicates by event id in log order; the processed events
stably sorted by time (equal times keep log order); evaluation at ``until``
(default: the latest processed time), later events counted but not applied; and,
before each event, ``advance`` to that event's time, so a deadline that passed with
no event alerts exactly as the worker's timer does on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from slamon.core.aggregates import breakdowns, sla_table
from slamon.core.decisions import Alert, Outcome
from slamon.core.engine import Engine
from slamon.core.events import Event, InvalidEvent
from slamon.core.policy import SlaPolicy
from slamon.core.tickets import TicketFold
from slamon.core.timefmt import format_rfc3339

PROGRESS_EVERY = 50_000  # lines between two progress calls
Decoded = tuple[int, Event | InvalidEvent]  # (line number, the line decoded)


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
    # {dimension: {value: {slas, quality}}} for the dimensions asked for (``by``)
    breakdowns: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # each ticket's state at ``until``, by ticket id (for explain and the HTML report)
    folds: dict[str, TicketFold] = field(default_factory=dict, compare=False, repr=False)

    def report(self) -> dict[str, Any]:
        report = {
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
        if self.breakdowns:
            report["breakdowns"] = self.breakdowns
        return report


def replay_events(
    items: Iterable[Decoded],
    policy: SlaPolicy,
    until: int | None = None,
    progress: Callable[[int], None] | None = None,
    by: Sequence[str] = (),
) -> ReplayResult:
    """Replay decoded log lines under ``policy``, evaluating at ``until``.

    ``items`` are ``(line number, Event or InvalidEvent)`` in log order; ``progress``
    is called with the line number every :data:`PROGRESS_EVERY` lines; ``by`` names the
    breakdown dimensions (:data:`~slamon.core.aggregates.DIMENSIONS`).
    """
    engine = Engine(policy)
    admitted: list[Event] = []
    invalid: list[tuple[int, str]] = []
    for lineno, item in items:
        if isinstance(item, InvalidEvent):
            invalid.append((lineno, item.reason))
        elif engine.admit(item):
            admitted.append(item)
        if progress is not None and lineno % PROGRESS_EVERY == 0:
            progress(lineno)
    if until is None and admitted:
        until = max(event.time for event in admitted)
    alerts = _apply_in_time_order(engine, admitted, until) if until is not None else []
    outcomes = list(engine.outcomes(until)) if until is not None else []
    folds = {ticket_id: t.fold for ticket_id, t in engine.tickets.items()}
    names = tuple(terms.name for terms in policy.terms)  # for the `terms` dimension
    quality, split = breakdowns(folds, outcomes, policy.quality, by, names)
    return ReplayResult(
        until=until,
        processed=len(admitted),
        duplicates=engine.duplicates,
        orphans=engine.orphan_events(),
        invalid=invalid,
        alerts=alerts,
        outcomes=outcomes,
        quality=quality,
        breakdowns=split,
        folds=folds,
    )


def _apply_in_time_order(engine: Engine, admitted: list[Event], until: int) -> list[Alert]:
    """Apply the events up to ``until`` in stable time order (sorts ``admitted`` in place),
    firing what fell due before each; then everything due before ``until``."""
    admitted.sort(key=attrgetter("time"))  # stable: ties keep log order
    alerts: list[Alert] = []
    engine.horizon = until  # advance never passes `until`: nothing at or after it fires
    # direct method calls, not bound methods in locals: compiled (mypyc), they are C calls
    for event in admitted:
        at = event.time
        if at > until:
            break
        if engine.has_due_before(at):  # most events have nothing due before them
            alerts += engine.advance(at)
        alerts += engine.apply(event, at)
    alerts += engine.advance(until)
    return alerts
