"""What the engine decides: alerts and outcomes, as plain data for the shells to route."""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from slamon.core.timefmt import format_rfc3339, ns_to_seconds

AT_RISK = "sla.at_risk"
BREACHED = "sla.breached"
RETRACTED = "sla.breach_retracted"

MET = "met"
BREACH = "breached"
OPEN = "open"
NOT_APPLICABLE = "not_applicable"
CANCELLED = "cancelled"
FINAL_STATUSES = frozenset({MET, CANCELLED, NOT_APPLICABLE})


def alert_id(ticket_id: str, sla: str, alert_type: str, generation: int) -> str:
    """Deterministic id: the same log yields the same ids, so consumers can deduplicate."""
    key = f"{ticket_id}\x1f{sla}\x1f{alert_type}\x1f{generation}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


class Alert(NamedTuple):
    """An alert decision. ``at`` is the instant it refers to (event time), not when it was seen."""

    id: str
    type: str
    ticket_id: str
    sla: str
    priority: str
    deadline: int | None
    at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "ticket_id": self.ticket_id,
            "sla": self.sla,
            "priority": self.priority,
            "deadline": None if self.deadline is None else format_rfc3339(self.deadline),
            "at": format_rfc3339(self.at),
        }


class Outcome(NamedTuple):
    """The status of one (ticket, SLA) pair at an evaluation time."""

    ticket_id: str
    sla: str
    priority: str
    status: str
    elapsed_ns: int
    target_ns: int
    deadline: int | None
    stopped: bool

    @property
    def measured(self) -> bool:
        """A duration the statistics count: a stopped clock, met or breached."""
        return self.stopped and self.status in (MET, BREACH)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "sla": self.sla,
            "priority": self.priority,
            "status": self.status,
            "elapsed_seconds": ns_to_seconds(self.elapsed_ns),
            "target_seconds": ns_to_seconds(self.target_ns),
            "deadline": None if self.deadline is None else format_rfc3339(self.deadline),
        }
