"""Realistic ticket traffic: the demo's source, the benchmarks' input, the tests' messy logs.

Durations are drawn around the policy's targets (log-normal, most met, a tail breached),
so dashboards and alerts show something meaningful. Deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_MS, NS_PER_S, format_rfc3339, parse_rfc3339

PRIORITY_MIX = (("P1", 0.08), ("P2", 0.22), ("P3", 0.45), ("P4", 0.25))
REGIONS = ("north", "south", "east", "west")
PAUSE_REASONS = ("awaiting_customer", "awaiting_parts")
PRODUCT_CATEGORIES = ("appliance", "car", "electronics")
CUSTOMER_TIERS = ("standard", "standard", "gold")
ASSETS_PER_CATEGORY = 1000  # a ticket's device; a few share one, hence repeat failures
COMPLAINT_REASONS = ("late", "not_fixed", "conduct")


@dataclass(frozen=True, slots=True)
class TrafficShape:
    """How tickets behave; the defaults give roughly 10 events per ticket."""

    onsite_share: float = 0.55
    breach_share: float = 0.12  # share of clocks drawn beyond their target
    pause_share: float = 0.2
    priority_change_share: float = 0.08
    reopen_share: float = 0.07
    cancel_share: float = 0.03
    survey_share: float = 0.6
    complaint_share: float = 0.06


def _lognormal_factor(rng: random.Random, breach_share: float) -> float:
    """A duration factor of the target: median 0.45, P(factor > 1) about ``breach_share``."""
    sigma = math.log(1 / 0.45) / 1.175 if breach_share >= 0.12 else 0.5
    return math.exp(rng.gauss(math.log(0.45), sigma))


def ticket_events(
    rng: random.Random, policy: SlaPolicy, ticket: str, start: int, shape: TrafficShape
) -> list[dict[str, Any]]:
    """One ticket's lifecycle as CloudEvents (dicts), in event-time order."""
    priority = rng.choices([p for p, _ in PRIORITY_MIX], [w for _, w in PRIORITY_MIX])[0]
    onsite = rng.random() < shape.onsite_share
    out: list[dict[str, Any]] = []

    def emit(etype: str, at: int, data: dict[str, Any] | None = None) -> None:
        out.append({"type": etype, "subject": ticket, "at": at, "data": data or {}})

    service = "onsite" if onsite else "remote"
    # the quality attributes come from a stream of their own, so the main one (and with it
    # every time above) stays what it was before they existed
    extra = random.Random(f"{ticket}/quality")
    category = extra.choice(PRODUCT_CATEGORIES)
    asset = f"{category}-{extra.randint(1, ASSETS_PER_CATEGORY)}"
    region, tier = rng.choice(REGIONS), extra.choice(CUSTOMER_TIERS)
    # the ticket's own terms (spec.terms), so a gold ticket breaches as often as any other
    terms = policy.select_terms(service, region, tier, category)
    calendar, targets, _ = policy.rules(priority, terms)

    def after(sla: str) -> int:
        # drawn in business time, so office-hours priorities breach as often as 24x7 ones
        need = int(targets[SLAS.index(sla)] * _lognormal_factor(rng, shape.breach_share))
        at = calendar.reach(start, need)
        return at - at % NS_PER_MS

    emit("ticket.created", start, {"priority": priority, "service": service, "region": region,
                                   "customer_tier": tier, "product_category": category,
                                   "asset_id": asset})  # fmt: skip
    if rng.random() < shape.cancel_share:
        emit("ticket.cancelled", start + rng.randint(60, 3600) * NS_PER_S)
        return out
    emit("ticket.responded", after("first_response"))
    if rng.random() < shape.priority_change_share:
        new = rng.choice([p for p, _ in PRIORITY_MIX if p != priority])
        emit("ticket.priority_changed", start + rng.randint(60, 1800) * NS_PER_S, {"priority": new})
    technician = f"tech-{rng.randint(1, 400)}"
    if onsite:
        arrive = after("onsite_arrival")
        emit("technician.dispatched", start + (arrive - start) // 3, {"technician_id": technician})
        emit("technician.arrived", arrive, {"technician_id": technician})
    resolve = max(after("resolution"), max(e["at"] for e in out) + NS_PER_S)
    if rng.random() < shape.pause_share:
        pause_at = start + (resolve - start) // 2
        length = rng.randint(600, 4 * 3600) * NS_PER_S
        emit("ticket.paused", pause_at, {"reason": rng.choice(PAUSE_REASONS)})
        emit("ticket.resumed", pause_at + length)
        resolve += length
    first_fix = rng.random() < 0.8
    emit("ticket.resolved", resolve, {"first_time_fix": first_fix, "technician_id": technician})
    end = resolve
    if rng.random() < shape.reopen_share:
        emit("ticket.reopened", resolve + rng.randint(600, 86400) * NS_PER_S)
        end = out[-1]["at"] + rng.randint(1800, 6 * 3600) * NS_PER_S
        emit("ticket.resolved", end, {"first_time_fix": False, "technician_id": technician})
    emit("ticket.closed", end + rng.randint(60, 3600) * NS_PER_S)
    if rng.random() < shape.survey_share:
        score = max(1, min(10, round(rng.gauss(8.4, 1.6))))
        emit("survey.submitted", end + rng.randint(600, 86400) * NS_PER_S, {"score": score})
    if extra.random() < shape.complaint_share:
        filed = end + extra.randint(600, 2 * 86400) * NS_PER_S
        emit("complaint.filed", filed, {"reason": extra.choice(COMPLAINT_REASONS)})
        if extra.random() < 0.75:
            emit("complaint.resolved", filed + extra.randint(3600, 5 * 86400) * NS_PER_S)
    return sorted(out, key=lambda e: e["at"])


def generate_log(
    policy: SlaPolicy,
    tickets: int,
    *,
    seed: int = 1,
    start: str = "2026-11-02T00:00:00Z",
    per_hour: float = 120.0,
    shape: TrafficShape | None = None,
    messy: bool = False,
) -> Iterator[dict[str, Any] | str]:
    """A log of ``tickets`` tickets starting at ``start``, ``per_hour`` new tickets an hour.

    With ``messy``, about 1% of events are duplicated, 3% arrive late (out of order)
    and 0.5% of lines are invalid (yielded as raw strings).
    """
    rng = random.Random(seed)
    shape = shape or TrafficShape()
    clock = parse_rfc3339(start)
    pending: list[dict[str, Any]] = []
    for number in range(1, tickets + 1):
        clock += int(rng.expovariate(per_hour / 3600) * NS_PER_S)
        pending.extend(ticket_events(rng, policy, f"T-{seed}-{number}", clock, shape))
    pending.sort(key=lambda e: e["at"])
    late: list[dict[str, Any]] = []
    for index, item in enumerate(pending):
        record = {
            "specversion": "1.0",
            "id": f"ev-{seed}-{index}",
            "source": "/simulator",
            "type": item["type"],
            "subject": item["subject"],
            "time": format_rfc3339(item["at"]),
            "data": item["data"],
        }
        if messy and rng.random() < 0.03:
            late.append(record)
            continue
        yield record
        if messy and rng.random() < 0.01:
            yield dict(record)
        if messy and rng.random() < 0.005:
            yield rng.choice(_INVALID)
        if late and rng.random() < 0.2:
            yield late.pop(0)
    yield from late


_INVALID = (
    "{not json",
    (
        '{"specversion":"1.0","id":"bad-1","source":"/s","type":"ticket.created","subject":"X",'
        '"time":"2026-11-02 10:00:00Z","data":{"priority":"P1"}}'
    ),
    (
        '{"specversion":"1.0","id":"bad-2","source":"/s","type":"ticket.created","subject":"X",'
        '"time":"2026-11-02T10:00:00Z","data":{"priority":"P9"}}'
    ),
    (
        '{"specversion":"1.0","id":"bad-3","source":"/s","type":"survey.submitted","subject":"X",'
        '"time":"2026-11-02T10:00:00Z","data":{"score":7.5}}'
    ),
    (
        '{"specversion":"1.0","id":"bad-4","source":"/s","type":"ticket.teleported","subject":"X",'
        '"time":"2026-11-02T10:00:00Z"}'
    ),
)


def live_traffic(
    policy: SlaPolicy,
    rate: float,
    *,
    seed: int | None,
    now: int,
    until: int,
    shape: TrafficShape | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(due, CloudEvent)`` pairs in due order: tickets open at ``rate`` a second from ``now``.

    New tickets stop at ``until``; so do their later events (the stream is bounded).
    """
    rng = random.Random(seed if seed is not None else now)
    shape = shape or TrafficShape()
    run = f"{now // NS_PER_S:x}"
    pending: list[tuple[int, int, dict[str, Any]]] = []
    next_ticket, number, counter = now, 0, 0
    while True:
        if next_ticket <= until and (not pending or next_ticket <= pending[0][0]):
            number += 1
            for item in ticket_events(rng, policy, f"T-{run}-{number}", next_ticket, shape):
                counter += 1
                heapq.heappush(pending, (item["at"], counter, item))
            next_ticket += int(rng.expovariate(rate) * NS_PER_S)
            continue
        if not pending or pending[0][0] > until:
            return
        due, serial, item = heapq.heappop(pending)
        yield (
            due,
            {
                "specversion": "1.0",
                "id": f"sim-{run}-{serial}",
                "source": "/simulator",
                "type": item["type"],
                "subject": item["subject"],
                "time": format_rfc3339(due),
                "data": item["data"],
            },
        )
