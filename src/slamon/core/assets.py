"""Repeat failures per asset (docs/contract.md, "Quality": ``repeat_failure_rate``).

The rule replay applies in :func:`slamon.core.aggregates.repeat_failures`, over one asset's
tickets: a ticket resolved at least once (r = the instant it last became resolved) is a
repeat failure when another ticket of the same asset was created in ``(r, r + window]``.
Only tickets that every quality figure counts take part: created and not cancelled.

The worker keeps each asset's tickets in a table and calls :func:`repeat_flags` again
after every change, so the flags depend on the set of tickets only, never on the order in
which their changes arrived. Tickets it no longer keeps leave their creation instants
behind (``past``) for as long as a kept ticket's window can contain them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AssetTicket:
    """What the rule needs of one ticket of an asset."""

    created_at: int | None  # None: not created (yet)
    resolved_at: int | None  # when it last became resolved; None: never resolved
    cancelled: bool = False

    @property
    def counted(self) -> bool:
        """Counted by every quality figure: created and not cancelled."""
        return self.created_at is not None and not self.cancelled

    @property
    def resolved_once(self) -> bool:
        """In the figure's denominator: counted and resolved at least once."""
        return self.counted and self.resolved_at is not None


def creations(tickets: Mapping[str, AssetTicket], past: Iterable[int] = ()) -> list[int]:
    """The sorted creation instants of the counted tickets and of ``past``."""
    times = [t.created_at for t in tickets.values() if t.counted and t.created_at is not None]
    times.extend(past)
    times.sort()
    return times


def is_repeat(resolved_at: int, created: list[int], window_ns: int) -> bool:
    """Another creation in ``(resolved_at, resolved_at + window_ns]`` (``created`` sorted).

    A ticket's own creation is at or before its resolution, so it never counts.
    """
    after = bisect_right(created, resolved_at)
    return after < len(created) and created[after] <= resolved_at + window_ns


def repeat_flags(
    tickets: Mapping[str, AssetTicket], window_ns: int, past: Iterable[int] = ()
) -> dict[str, bool]:
    """Per ticket of one asset resolved at least once: whether it is a repeat failure.

    ``past``: creation instants of counted tickets of the asset no longer in ``tickets``.
    """
    created = creations(tickets, past)
    return {
        ticket_id: is_repeat(ticket.resolved_at, created, window_ns)
        for ticket_id, ticket in tickets.items()
        if ticket.resolved_once and ticket.resolved_at is not None
    }


def needed_past(
    past: Iterable[int], tickets: Mapping[str, AssetTicket], window_ns: int
) -> list[int]:
    """The instants of ``past`` inside the window of a ticket of ``tickets`` (sorted):
    the others can no longer change any flag of the tickets kept."""
    resolutions = sorted(t.resolved_at for t in tickets.values()
                         if t.resolved_once and t.resolved_at is not None)  # fmt: skip
    kept = []
    for created in sorted(past):
        # a resolution r with r < created <= r + window: r in [created - window, created)
        index = bisect_right(resolutions, created - window_ns - 1)
        if index < len(resolutions) and resolutions[index] < created:
            kept.append(created)
    return kept


def drop_instant(
    final_since: int | None,
    resolved_at: int | None,
    cancelled: bool,
    *,
    keep_ns: int,
    window_ns: int,
) -> int | None:
    """When a ticket's entry may leave its asset's state (None: not final, never).

    ``keep_ns`` after it became final (the retention, plus a grace so that the ticket
    itself has expired), and not before its own repeat window has passed: until then a
    new ticket of the asset can still make it a repeat failure. A cancelled ticket
    counts in no figure, so the window does not hold it.
    """
    if final_since is None:
        return None
    at = final_since + keep_ns
    if not cancelled and resolved_at is not None:
        at = max(at, resolved_at + window_ns + 1)
    return at
