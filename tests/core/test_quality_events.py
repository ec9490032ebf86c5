"""Issue 11's event data: asset and product category on creation, complaints, the technician.

All optional and backward compatible: a log without them reads as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from slamon.core.events import COMPLAINT_FILED, COMPLAINT_RESOLVED, InvalidEvent, parse_event
from slamon.core.live import Snapshot
from slamon.core.tickets import TicketFold
from slamon.testing import EventLog, at

PAUSE = frozenset({"resolution"})
BIG = "x" * 201


def record(etype: str = "ticket.created", data: dict[str, Any] | None = None) -> dict[str, Any]:
    return EventLog().add(etype, "T-1", at(0), data if data is not None else {"priority": "P2"})


def test_created_carries_asset_and_product_category() -> None:
    """asset_id and product_category are read from ticket.created's data."""
    data = {"priority": "P1", "asset_id": "A-7", "product_category": "car"}
    event = parse_event(record(data=data), 1)
    assert (event.asset_id, event.product_category) == ("A-7", "car")


def test_created_without_them_is_unchanged() -> None:
    """Backward compatible: absent, or not a string, means unknown (None)."""
    assert parse_event(record(), 1)[-2:] == (None, None)
    odd = parse_event(record(data={"priority": "P1", "asset_id": 7, "product_category": []}), 1)
    assert (odd.asset_id, odd.product_category) == (None, None)


@pytest.mark.parametrize("key", ["asset_id", "product_category"])
def test_new_strings_have_the_data_limit(key: str) -> None:
    """Like region and customer_tier: at most MAX_DATA_CHARS (200) characters."""
    with pytest.raises(InvalidEvent) as caught:
        parse_event(record(data={"priority": "P1", key: BIG}), 1)
    assert caught.value.reason == f"data.{key} is 201 characters, more than 200"
    assert getattr(parse_event(record(data={"priority": "P1", key: "y" * 200}), 1), key)


@pytest.mark.parametrize("etype", [COMPLAINT_FILED, COMPLAINT_RESOLVED])
def test_complaint_types_are_valid_with_an_optional_reason(etype: str) -> None:
    """complaint.filed / complaint.resolved: data optional, reason bounded like a pause's."""
    assert parse_event(record(etype, {}), 1).reason is None
    assert parse_event(record(etype, {"reason": "late"}), 1).reason == "late"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(record(etype, {"reason": BIG}), 1)
    assert caught.value.reason == "data.reason is 201 characters, more than 200"


def fold(*items: tuple[str, dict[str, Any]]) -> TicketFold:
    """One ticket's events, a minute apart, folded in order."""
    result = TicketFold(PAUSE)
    log = EventLog()
    for minute, (kind, data) in enumerate(items):
        result.apply(parse_event(log.add(kind, "T", at(minute), data), minute))
    return result


CREATED = ("ticket.created", {"priority": "P2", "asset_id": "A", "product_category": "car",
                              "customer_tier": "gold"})  # fmt: skip


def test_fold_keeps_attributes_and_counts_complaints() -> None:
    """The fold holds the creation's attributes and counts filed / resolved complaints."""
    f = fold(CREATED, (COMPLAINT_FILED, {}), (COMPLAINT_FILED, {"reason": "rude"}),
             (COMPLAINT_RESOLVED, {}))  # fmt: skip
    assert (f.asset_id, f.product_category, f.customer_tier) == ("A", "car", "gold")
    assert (f.complaints_filed, f.complaints_resolved) == (2, 1)


def test_complaints_before_creation_or_after_cancellation_are_ignored() -> None:
    """Like every event: before created, or after cancelled, a complaint has no effect."""
    f = fold((COMPLAINT_FILED, {}), CREATED, ("ticket.cancelled", {}), (COMPLAINT_FILED, {}))
    assert f.complaints_filed == 0


@pytest.mark.parametrize(
    ("items", "technician"),
    [
        ([("technician.dispatched", {"technician_id": "d"}),
          ("technician.arrived", {"technician_id": "a"}),
          ("ticket.resolved", {"technician_id": "r"})], "a"),
        ([("technician.dispatched", {"technician_id": "d1"}),
          ("technician.dispatched", {"technician_id": "d2"}),
          ("ticket.resolved", {"technician_id": "r"})], "d2"),
        ([("ticket.resolved", {"technician_id": "r1"}), ("ticket.reopened", {}),
          ("ticket.resolved", {"technician_id": "r2"})], "r2"),
        ([("technician.arrived", {"technician_id": "a"}), ("technician.arrived", {}),
          ("technician.dispatched", {"technician_id": "d"})], "a"),
        ([("ticket.resolved", {})], None),
    ],
)  # fmt: skip
def test_technician_rule(items: list[tuple[str, dict[str, Any]]], technician: str | None) -> None:
    """Last arrived, else last dispatched, else last resolved (each: the last naming one)."""
    assert fold(CREATED, *items).technician() == technician


def test_resolved_at_is_when_the_ticket_last_became_resolved() -> None:
    """A second resolve of a resolved ticket does not move it; a resolve after a reopen does."""
    f = fold(CREATED, ("ticket.resolved", {}), ("ticket.resolved", {}))
    assert f.resolved_at == fold(CREATED, ("ticket.resolved", {})).resolved_at
    g = fold(CREATED, ("ticket.resolved", {}), ("ticket.reopened", {}), ("ticket.resolved", {}))
    assert g.resolved_at is not None
    assert f.resolved_at is not None
    assert g.resolved_at - f.resolved_at == 2 * 60 * 10**9


def test_a_snapshot_of_the_old_layout_still_loads() -> None:
    """Events stored before the two new fields (14 fields) are still accepted."""
    old = ["c1", "ticket.created", "T1", 0, 0, "/test", "P1", "remote", *[None] * 6]
    snapshot = Snapshot.from_list([1, 0, None, 0, 0, 0, [0, 0, 0], [old]])
    assert snapshot.events == [old]
