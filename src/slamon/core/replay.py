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
from operator import attrgetter, itemgetter
from typing import Any

from slamon.core.aggregates import breakdowns, sla_table
from slamon.core.decisions import Alert, Outcome
from slamon.core.engine import NO_INSTANT, Engine
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
    alerts: list[Alert] = []
    outcomes: list[Outcome] = []
    if until is not None:
        alerts, outcomes = _apply_in_time_order(engine, admitted, until)
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


def _apply_in_time_order(
    engine: Engine, admitted: list[Event], until: int
) -> tuple[list[Alert], list[Outcome]]:
    """Apply the events up to ``until`` in stable time order (sorts ``admitted`` in place),
    firing what fell due before each; then everything due before ``until``. The alerts,
    and every created ticket's outcomes at ``until`` (``Engine.outcomes``' order).

    Tickets share nothing, so each ticket's timeline runs on its own, tickets in the order
    of their first event: the engine sees, per ticket, the calls a single time-ordered pass
    would make (``advance`` fires a ticket's ``due`` just after it, before its first later
    event), with no schedule to keep. The alerts are then put in that pass's order: by
    instant; at one instant an event's alerts before those fired by ``advance``; events in
    log order, fired ones by ticket id (the schedule's tie-break); then as emitted.
    """
    admitted.sort(key=attrgetter("time"))  # stable: ties keep log order
    engine.horizon = 0  # no schedule entries: every instant is at or after it
    timelines: dict[str, list[int]] = {}  # ticket id -> its events' indices in `admitted`
    for index, event in enumerate(admitted):
        if event.time > until:
            break
        timeline = timelines.get(event.ticket_id)
        if timeline is None:
            timelines[event.ticket_id] = [index]
        else:
            timeline.append(index)
    keyed: list[tuple[int, int, int | str, int, Alert]] = []
    outcomes: list[Outcome] = []
    for ticket_id, timeline in timelines.items():
        ticket = engine.ticket(ticket_id)  # created in first-event order, as in one pass
        for index in timeline:
            event = admitted[index]
            at = event.time
            while ticket.due != NO_INSTANT and ticket.due < at:
                _keep(keyed, ticket.due, _FIRED, ticket_id, engine.fire_due(ticket))
            _keep(keyed, at, _APPLIED, index, engine.apply_to(ticket, event, at))
        while ticket.due != NO_INSTANT and ticket.due < until:
            _keep(keyed, ticket.due, _FIRED, ticket_id, engine.fire_due(ticket))
        if ticket.fold.created_at is not None:  # while the ticket is in the cache
            outcomes.extend(engine.ticket_outcomes(ticket, until))
    keyed.sort(key=_ORDER)
    return [entry[4] for entry in keyed], outcomes


_APPLIED, _FIRED = 0, 1  # at one instant, an event's alerts come before the fired ones
_ORDER = itemgetter(0, 1, 2, 3)  # never the Alert: (instant, phase, tie-break, k) is unique


def _keep(
    keyed: list[tuple[int, int, int | str, int, Alert]],
    instant: int,
    phase: int,
    tie: int | str,
    alerts: list[Alert],
) -> None:
    for k, alert in enumerate(alerts):
        keyed.append((instant, phase, tie, k, alert))
