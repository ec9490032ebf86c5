"""Test helpers: run a log through replay and look results up by (ticket, sla)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slamon.core.decisions import Alert, AlertType, Outcome
from slamon.core.policy import SlaPolicy, policy_from_dict
from slamon.replay import ReplayResult, replay
from slamon.testing import small_policy


class Run:
    """A replay result with lookups used across the behaviour tests."""

    def __init__(self, result: ReplayResult) -> None:
        self.result = result
        self.by_pair = {(o.ticket_id, o.sla): o for o in result.outcomes}

    def outcome(self, ticket: str, sla: str) -> Outcome:
        return self.by_pair[(ticket, sla)]

    def status(self, ticket: str, sla: str) -> str:
        return self.by_pair[(ticket, sla)].status

    def elapsed_s(self, ticket: str, sla: str) -> float:
        return self.by_pair[(ticket, sla)].elapsed_ns / 1e9

    def alerts(self, ticket: str | None = None, sla: str | None = None) -> list[Alert]:
        return [
            a
            for a in self.result.alerts
            if (ticket is None or a.ticket_id == ticket) and (sla is None or a.sla == sla)
        ]

    def kinds(self, ticket: str, sla: str) -> list[str]:
        return [a.type for a in self.alerts(ticket, sla)]

    def standing_breaches(self) -> set[tuple[str, str]]:
        last: dict[tuple[str, str], str] = {}
        for alert in self.result.alerts:
            if alert.type in (AlertType.BREACHED, AlertType.RETRACTED):
                last[(alert.ticket_id, alert.sla)] = alert.type
        return {pair for pair, kind in last.items() if kind == AlertType.BREACHED}

    def breached_outcomes(self) -> set[tuple[str, str]]:
        return {(o.ticket_id, o.sla) for o in self.result.outcomes if o.status == "breached"}


def run_replay(
    lines: Iterable[bytes], policy: SlaPolicy | None = None, until: int | None = None
) -> Run:
    return Run(replay(lines, policy or small_policy(), until=until))


WEEKDAYS = ["09:00-12:00", "13:00-18:00"]


def calendar_policy() -> SlaPolicy:
    """P1/P2 on 24x7, P3 on Shanghai office hours, P4 on Berlin 08-20 (DST)."""

    def targets(calendar: str, fr: str) -> dict[str, Any]:
        return {"calendar": calendar, "first_response": fr, "onsite_arrival": "8h",
                "resolution": "16h"}  # fmt: skip

    return policy_from_dict(
        {
            "apiVersion": "slamon/v1",
            "kind": "SlaPolicy",
            "metadata": {"name": "calendars"},
            "spec": {
                "calendars": {
                    "office": {
                        "timezone": "Asia/Shanghai",
                        "weekly": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), WEEKDAYS),
                        "holidays": ["2026-10-01"],
                    },
                    "berlin": {
                        "timezone": "Europe/Berlin",
                        "weekly": {
                            d: ["08:00-20:00"]
                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                        },
                    },
                },
                "priorities": {
                    "P1": targets("24x7", "10m"),
                    "P2": targets("24x7", "30m"),
                    "P3": targets("office", "2h"),
                    "P4": targets("berlin", "2h"),
                },
            },
        }
    )
