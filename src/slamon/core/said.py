"""What the alerts topic says was sent, for tickets whose snapshot may be older.

A worker writes a batch's alerts before the batch's ticket snapshots (an alert lost
would be worse than one sent twice). Killed in between, it restarts from snapshots
that do not know of those alerts. Read per record again, the same events give the same
alerts (duplicates by id); read in batches of other bounds (a catch-up), a ticket may
be evaluated once over events the first run saw in two batches: the breach the first
run raised and then would have retracted is never raised, so never retracted, and
stands on the topic for good. Folding the topic's latest alerts back into the tickets
makes the engine retract it (and never raise twice what stands).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from slamon.core.decisions import AlertType, alert_id
from slamon.core.engine import Ticket, later_generation
from slamon.core.policy import SLAS

MAX_GENERATION = 256  # breaches of one pair: an id's generation is looked for up to this

_INDEX = {sla: index for index, sla in enumerate(SLAS)}
_TYPES = frozenset(AlertType)


@dataclass(slots=True)
class Said:
    """One ticket's alerts as the topic has them: the last word per SLA."""

    risk_sent: int = 0  # bit i: an at-risk alert for SLAS[i] went out
    standing: int = 0  # bit i: the last breach / retraction for SLAS[i] was a breach
    known: int = 0  # bit i: a breach or retraction for SLAS[i] is on the topic
    generation: list[int] = field(default_factory=lambda: [0, 0, 0])

    def apply_to(self, ticket: Ticket) -> None:
        """The topic's word wins for the SLAs it knows; generations never go back."""
        ticket.risk_sent |= self.risk_sent
        ticket.standing = (ticket.standing & ~self.known) | self.standing
        ticket.generation = later_generation(ticket.generation, self.generation)


def generation_of(ticket_id: str, sla: str, alert_type: str, the_id: str) -> int | None:
    """The generation an alert id was made with (:func:`alert_id`), None if none fits."""
    for generation in range(1, MAX_GENERATION + 1):
        if alert_id(ticket_id, sla, alert_type, generation) == the_id:
            return generation
    return None


def said_of(alerts: Iterable[tuple[str, str, str, str]]) -> dict[str, Said]:
    """``(ticket_id, sla, type, id)`` in the topic's order (a ticket's alerts share one
    partition) folded per ticket; alerts slamon would not have made are left out."""
    out: dict[str, Said] = {}
    for ticket_id, sla, alert_type, the_id in alerts:
        index = _INDEX.get(sla)
        if index is None or alert_type not in _TYPES:
            continue
        generation = generation_of(ticket_id, sla, alert_type, the_id)
        if generation is None:
            continue
        said = out.get(ticket_id)
        if said is None:
            said = out[ticket_id] = Said()
        bit = 1 << index
        if alert_type == AlertType.AT_RISK:
            said.risk_sent |= bit
            continue
        said.known |= bit
        if alert_type == AlertType.BREACHED:
            said.standing |= bit
        else:
            said.standing &= ~bit
        said.generation[index] = max(said.generation[index], generation)
    return out
