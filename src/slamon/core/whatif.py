"""What-if: the same log under two policies, side by side (``slamon replay --baseline``).

Both runs are ordinary replays; this module only compares their outcomes: per final
priority and SLA the compliance, breaches and p80 of each and the difference (policy
minus baseline), and every (ticket, SLA) pair whose status differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slamon.core.aggregates import sla_table
from slamon.core.decisions import Outcome
from slamon.core.policy import PRIORITIES, SLAS

COMPARED = ("compliance", "breached", "p80_seconds")


def _difference(new: int | float | None, old: int | float | None) -> int | float | None:
    # int | float, not float: compiled (mypyc), a float annotation turns counts into floats
    return None if new is None or old is None else new - old


def compare(
    baseline: Iterable[Outcome], policy: Iterable[Outcome], names: tuple[str, str] = ("", "")
) -> dict[str, Any]:
    """``{baseline, policy, slas: {P: {sla: {baseline, policy, difference}}}, flips}``.

    ``flips``: ``{ticket_id, sla, priority, baseline, policy}`` (statuses) for every pair
    whose status differs, in ticket id then SLA order.
    """
    old_outcomes, new_outcomes = list(baseline), list(policy)
    old_table, new_table = sla_table(old_outcomes), sla_table(new_outcomes)
    slas: dict[str, dict[str, Any]] = {}
    for priority in PRIORITIES:
        slas[priority] = {}
        for sla in SLAS:
            old = {key: old_table[priority][sla][key] for key in COMPARED}
            new = {key: new_table[priority][sla][key] for key in COMPARED}
            slas[priority][sla] = {
                "baseline": old,
                "policy": new,
                "difference": {key: _difference(new[key], old[key]) for key in COMPARED},
            }
    before = {(o.ticket_id, o.sla): o.status for o in old_outcomes}
    order = {sla: i for i, sla in enumerate(SLAS)}
    flips = [
        {"ticket_id": o.ticket_id, "sla": o.sla, "priority": o.priority,
         "baseline": str(before[o.ticket_id, o.sla]), "policy": str(o.status)}
        for o in sorted(new_outcomes, key=lambda o: (o.ticket_id, order[o.sla]))
        if before.get((o.ticket_id, o.sla), o.status) != o.status
    ]  # fmt: skip
    return {"baseline": names[0], "policy": names[1], "slas": slas, "flips": flips}
