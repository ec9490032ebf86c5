"""parse_event builds its Event from positional fields (fast); each must land in the
field named for it: the same Event as the keyword constructor gives, for every type."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from slamon.core.events import EVENT_TYPES, Event, parse_event

_TEXTS = ("region", "customer_tier", "asset_id", "product_category", "technician_id", "reason")
_TEXT = st.one_of(st.none(), st.text("abcxyz-", min_size=1, max_size=8))
_FIELDS = {  # data key -> the Event field it fills, per event type
    "ticket.created": ("priority", "service", "region", "customer_tier", "asset_id",
                       "product_category"),
    "ticket.updated": ("region", "customer_tier", "product_category"),
    "ticket.priority_changed": ("priority",),
    "survey.submitted": ("score",),
    "ticket.resolved": ("first_time_fix", "technician_id"),
    "technician.dispatched": ("technician_id",),
    "technician.arrived": ("technician_id",),
    "ticket.paused": ("reason",),
    "complaint.filed": ("reason",),
    "complaint.resolved": ("reason",),
}  # fmt: skip


@given(
    etype=st.sampled_from(sorted(EVENT_TYPES)),
    texts=st.fixed_dictionaries(dict.fromkeys(_TEXTS, _TEXT)),
    priority=st.sampled_from(["P1", "P2", "P3", "P4"]),
    service=st.sampled_from(["onsite", "remote"]),
    flag=st.one_of(st.none(), st.booleans()),
    score=st.integers(1, 10),
    seq=st.integers(0, 10**6),
)
def test_every_field_lands_where_its_name_says(
    etype: str, texts: dict[str, Any], priority: str, service: str, flag: Any, score: int,
    seq: int,
) -> None:  # fmt: skip
    data = {**texts, "priority": priority, "service": service, "first_time_fix": flag,
            "score": score}  # fmt: skip
    record = {"specversion": "1.0", "id": "e-1", "source": "/s", "type": etype,
              "subject": "T-1", "time": "2026-11-24T08:00:00.5Z", "data": data}  # fmt: skip
    fields = {name: data[name] for name in _FIELDS.get(etype, ())}
    expected = Event("e-1", etype, "T-1", 1795507200_500_000_000, seq, "/s", **fields)
    assert parse_event(record, seq) == expected
    assert parse_event(record, seq)._asdict() == expected._asdict()
