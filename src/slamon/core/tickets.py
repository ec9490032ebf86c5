"""A ticket's SLA state, folded from its events in event-time order.

``TicketFold`` applies events that arrive in ``(time, seq)`` order. The caller
(:class:`slamon.core.engine.Engine`) keeps each ticket's events sorted and refolds
from scratch when a late event lands in the middle, so an out-of-order log gives
exactly the state of the sorted log.
"""

from __future__ import annotations

from slamon.core import events as ev
from slamon.core.clocks import NO_SPANS, Spans, step
from slamon.core.events import Event
from slamon.core.policy import SLAS, SlaPolicy

ALL_SLAS = 0b111  # a mask naming every SLA (bit i for SLAS[i])
_REMOTE_SLAS = 0b101  # onsite_arrival does not apply to a remote service
_PAUSE_MASKS: dict[frozenset[str], tuple[bool, ...]] = {}
# TicketFold.flags: one int for six booleans (40 bytes less a ticket than six slots). The
# clocks' end events take the SLAs' bits, so the stopped SLAs are ``flags & ALL_SLAS``.
_RESPONDED, _ARRIVED, _RESOLVED = 1, 2, 4
_PAUSED, _EVER_RESOLVED, _EVER_REOPENED = 8, 16, 32


class TicketFold:
    """Everything the SLA rules need to know about one ticket, built event by event."""

    __slots__ = (
        "asset_id",
        "cancelled_at",
        "complaints_filed",
        "complaints_resolved",
        "created_at",
        "customer_tier",
        "flags",
        "ignored",
        "last_ftf",
        "pause_mask",
        "priority",
        "product_category",
        "region",
        "resolved_at",
        "service",
        "since0",
        "since1",
        "since2",
        "spans0",
        "spans1",
        "spans2",
        "survey_count",
        "survey_sum",
        "tech_arrived",
        "tech_dispatched",
        "tech_resolved",
        "terms",
    )

    def __init__(self, pause: frozenset[str]) -> None:
        # which SLAs a pause stops, as a tuple aligned with SLAS (one per policy: a
        # ticket is created, and refolded after a late event, on the hot path)
        pause_mask = _PAUSE_MASKS.get(pause)
        if pause_mask is None:
            pause_mask = _PAUSE_MASKS[pause] = tuple(sla in pause for sla in SLAS)
        self.pause_mask = pause_mask
        self.created_at: int | None = None
        self.cancelled_at: int | None = None
        self.priority = ""
        self.service = "remote"
        self.region: str | None = None
        self.customer_tier: str | None = None
        self.product_category: str | None = None
        self.asset_id: str | None = None
        # the index of the policy's spec.terms entry the attributes select (-1: none, the
        # spec.priorities); set by the engine (SlaPolicy.select_terms), an int per ticket
        self.terms = -1
        self.flags = 0  # paused, responded, arrived, resolved, ever resolved, ever reopened
        self.last_ftf: bool | None = None
        self.resolved_at: int | None = None  # when the ticket last became resolved
        # the technician_id of the last event of each kind that names one
        self.tech_arrived: str | None = None
        self.tech_dispatched: str | None = None
        self.tech_resolved: str | None = None
        self.complaints_filed = 0
        self.complaints_resolved = 0
        self.survey_sum = 0
        self.survey_count = 0
        self.ignored = 0  # events before `created`, after `cancelled`, or without effect
        # the three clocks (first response, on-site arrival, resolution), see core.clocks
        self.spans0: Spans = NO_SPANS
        self.spans1: Spans = NO_SPANS
        self.spans2: Spans = NO_SPANS
        self.since0: int | None = None
        self.since1: int | None = None
        self.since2: int | None = None

    # the flags, read as booleans
    @property
    def paused(self) -> bool:
        return bool(self.flags & _PAUSED)

    @property
    def responded(self) -> bool:
        return bool(self.flags & _RESPONDED)

    @property
    def arrived(self) -> bool:
        return bool(self.flags & _ARRIVED)

    @property
    def resolved(self) -> bool:
        return bool(self.flags & _RESOLVED)

    @property
    def ever_resolved(self) -> bool:
        return bool(self.flags & _EVER_RESOLVED)

    @property
    def ever_reopened(self) -> bool:
        return bool(self.flags & _EVER_REOPENED)

    def clock(self, sla_index: int) -> tuple[Spans, int | None]:
        """``(spans, since)`` of one SLA's clock."""
        if sla_index == 0:
            return self.spans0, self.since0
        if sla_index == 1:
            return self.spans1, self.since1
        return self.spans2, self.since2

    # -- the one home of "applicable / running / final" ---------------------------------
    def applicable(self, sla_index: int) -> bool:
        """The SLA applies to the ticket: onsite_arrival only to an onsite service."""
        return sla_index != 1 or self.service == "onsite"

    def stopped(self, sla_index: int) -> bool:
        """The clock reached its end event (response, arrival, resolution)."""
        return bool(self.flags & (1 << sla_index))  # responded, arrived, resolved

    def technician(self) -> str | None:
        """The ticket's technician: the ``technician_id`` of its last ``technician.arrived``,
        else of its last ``technician.dispatched``, else of its last ``ticket.resolved``."""
        if self.tech_arrived is not None:
            return self.tech_arrived
        return self.tech_dispatched if self.tech_dispatched is not None else self.tech_resolved

    def in_force_mask(self) -> int:
        """The SLAs that bind this ticket: it is created and not cancelled, and the SLA
        applies. Only those have alerts; the others are ``cancelled`` or ``not_applicable``.
        """
        if self.created_at is None or self.cancelled_at is not None:
            return 0
        return ALL_SLAS if self.service == "onsite" else _REMOTE_SLAS

    def running_mask(self) -> int:
        """The SLAs in force whose clock has not stopped (running or paused): not final."""
        if self.created_at is None or self.cancelled_at is not None:
            return 0
        # the SLAs that apply, minus the stopped ones: this runs for every event
        return (ALL_SLAS if self.service == "onsite" else _REMOTE_SLAS) & ~self.flags

    def final_mask(self) -> int:
        """The SLAs whose outcome is final: stopped (met or breached), cancelled, or not
        applicable; none before the ticket is created."""
        return 0 if self.created_at is None else ALL_SLAS ^ self.running_mask()

    def apply(self, event: Event) -> int:
        """Apply one event that does not sort before any applied so far.

        Returns a bit mask of the SLAs whose decisions may have changed (bit i for
        ``SLAS[i]``): the engine re-evaluates only those.
        """
        etype = event.type
        if self.created_at is None:
            if etype != ev.CREATED:
                self.ignored += 1
                return 0
            self.created_at = event.time
            self.priority = event.priority or ""
            self.service = event.service or "remote"
            self.region = event.region
            self.customer_tier = event.customer_tier
            self.product_category = event.product_category
            self.asset_id = event.asset_id
            changed = ALL_SLAS
        elif self.cancelled_at is not None or etype == ev.CREATED:
            self.ignored += 1
            return 0
        else:
            # a new priority swaps targets and calendar; a cancel ends every SLA
            changed = ALL_SLAS if self._apply_update(event) else 0
        # a clock runs while its pair is running (not final) and no pause stops it
        # (spelled out per clock: this is the hottest loop)
        at = event.time
        running = self.running_mask()
        paused = (self.flags & _PAUSED) != 0
        pause_mask = self.pause_mask
        # (step only when the clock is to start or stop: otherwise it changes nothing)
        run = (running & 1) != 0 and not (paused and pause_mask[0])
        if run is (self.since0 is None):
            self.spans0, self.since0, moved = step(self.spans0, self.since0, run, at)
            if moved:
                changed |= 1
        run = (running & 2) != 0 and not (paused and pause_mask[1])
        if run is (self.since1 is None):
            self.spans1, self.since1, moved = step(self.spans1, self.since1, run, at)
            if moved:
                changed |= 2
        run = (running & 4) != 0 and not (paused and pause_mask[2])
        if run is (self.since2 is None):
            self.spans2, self.since2, moved = step(self.spans2, self.since2, run, at)
            if moved:
                changed |= 4
        return changed

    def _apply_update(self, event: Event) -> bool:
        """Apply an event to a created, live ticket; True if it changes every SLA.

        ``technician.dispatched``, ``ticket.closed`` and complaints change no clock.
        """
        etype = event.type
        if etype == ev.RESPONDED:
            self.flags |= _RESPONDED
        elif etype == ev.ARRIVED:
            self.flags |= _ARRIVED
            if event.technician_id is not None:
                self.tech_arrived = event.technician_id
        elif etype == ev.DISPATCHED:
            if event.technician_id is not None:
                self.tech_dispatched = event.technician_id
        elif etype == ev.PAUSED:
            self.flags |= _PAUSED
        elif etype == ev.RESUMED:
            self.flags &= ~_PAUSED
        elif etype == ev.PRIORITY_CHANGED:
            old, self.priority = self.priority, event.priority or self.priority
            return self.priority != old
        elif etype == ev.RESOLVED:
            if not self.flags & _RESOLVED:
                self.resolved_at = event.time
            self.flags |= _RESOLVED | _EVER_RESOLVED
            self.last_ftf = event.first_time_fix
            if event.technician_id is not None:
                self.tech_resolved = event.technician_id
        elif etype == ev.REOPENED:
            if self.flags & _RESOLVED:  # a reopen acts only on a resolved ticket
                self.flags = (self.flags & ~_RESOLVED) | _EVER_REOPENED
        elif etype == ev.CANCELLED:
            self.cancelled_at = event.time
            return True
        elif etype == ev.UPDATED:
            return self._update_attributes(event)
        elif etype == ev.SURVEY:
            self.survey_sum += event.score or 0
            self.survey_count += 1
        elif etype == ev.COMPLAINT_FILED:
            self.complaints_filed += 1
        elif etype == ev.COMPLAINT_RESOLVED:
            self.complaints_resolved += 1
        return False

    def _update_attributes(self, event: Event) -> bool:
        """``ticket.updated``: the attributes it carries replace the ticket's (as if it had
        been created with them); True if one changed, so the terms may change from creation."""
        old = (self.region, self.customer_tier, self.product_category)
        if event.region is not None:
            self.region = event.region
        if event.customer_tier is not None:
            self.customer_tier = event.customer_tier
        if event.product_category is not None:
            self.product_category = event.product_category
        return (self.region, self.customer_tier, self.product_category) != old

    def select_terms(self, policy: SlaPolicy) -> None:
        """Set :attr:`terms` from the ticket's attributes (the first matching entry)."""
        self.terms = policy.select_terms(
            self.service, self.region, self.customer_tier, self.product_category
        )
