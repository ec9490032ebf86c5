"""What the engine decides: alerts and outcomes, as plain data for the shells to route."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from slamon.core.timefmt import format_rfc3339, ns_to_seconds


class AlertType(StrEnum):
    """The ``type`` of an alert; members are the strings on the wire."""

    AT_RISK = "sla.at_risk"
    BREACHED = "sla.breached"
    RETRACTED = "sla.breach_retracted"


class Status(StrEnum):
    """The status of a (ticket, SLA) pair at an evaluation time (docs/contract.md)."""

    MET = "met"
    BREACHED = "breached"
    OPEN = "open"
    NOT_APPLICABLE = "not_applicable"
    CANCELLED = "cancelled"


_DECIDED = (Status.MET, Status.BREACHED)  # bound once: an enum member lookup is slow on 3.11


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event the engine did not apply, and why: a redelivered id or an expired ticket."""

    reason: Literal["duplicate", "late"]


DUPLICATE = Rejected("duplicate")
LATE = Rejected("late")


def alert_id(ticket_id: str, sla: str, alert_type: str, generation: int) -> str:
    """Deterministic id: the same log yields the same ids, so consumers can deduplicate.

    BLAKE2b with a 16-byte digest, as hex, of ``ticket_id``, ``sla``, ``alert_type`` and
    ``generation`` (decimal) joined by the unit separator U+001F, UTF-8 encoded.
    """
    key = f"{ticket_id}\x1f{sla}\x1f{alert_type}\x1f{generation}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


class Alert(NamedTuple):
    """An alert decision. ``at`` is the instant it refers to (event time), not when it was seen."""

    id: str
    type: AlertType
    ticket_id: str
    sla: str
    priority: str
    deadline: int | None
    at: int
    terms: str | None = None  # the name of the ticket's spec.terms entry, if one matched

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "type": self.type,
            "ticket_id": self.ticket_id,
            "sla": self.sla,
            "priority": self.priority,
            "deadline": None if self.deadline is None else format_rfc3339(self.deadline),
            "at": format_rfc3339(self.at),
        }
        if self.terms is not None:  # absent without terms: records stay as they were
            out["terms"] = self.terms
        return out


class Outcome(NamedTuple):
    """The status of one (ticket, SLA) pair at an evaluation time."""

    ticket_id: str
    sla: str
    priority: str
    status: Status
    elapsed_ns: int
    target_ns: int
    deadline: int | None
    stopped: bool
    terms: str | None = None  # the name of the ticket's spec.terms entry, if one matched

    @property
    def measured(self) -> bool:
        """A duration the statistics count: a stopped clock, met or breached."""
        return self.stopped and self.status in _DECIDED

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ticket_id": self.ticket_id,
            "sla": self.sla,
            "priority": self.priority,
            "status": self.status,
            "elapsed_seconds": ns_to_seconds(self.elapsed_ns),
            "target_seconds": ns_to_seconds(self.target_ns),
            "deadline": None if self.deadline is None else format_rfc3339(self.deadline),
        }
        if self.terms is not None:
            out["terms"] = self.terms
        return out
