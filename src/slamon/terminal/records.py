"""Alert and outcome records of the output topics, as a person reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from slamon.core.decisions import AlertType
from slamon.core.durations import format_duration
from slamon.core.timefmt import NS_PER_S, parse_rfc3339

# Breaches must stand out without colour too (a log file, CI): hence the upper case.
ALERT_LABELS: dict[str, str] = {
    AlertType.BREACHED: "BREACHED",
    AlertType.AT_RISK: "at risk",
    AlertType.RETRACTED: "retracted",
}
COLOURS: dict[str, str] = {  # alert types and outcome statuses
    AlertType.BREACHED: "red",
    AlertType.AT_RISK: "yellow",
    AlertType.RETRACTED: "green",
    "breached": "red",
    "met": "green",
}


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert CloudEvent: what, which ticket and SLA, when, and how late it was seen."""

    id: str
    type: str
    ticket: str
    sla: str
    priority: str
    at: int  # ns
    delay: int  # ns from ``at`` to detection

    @property
    def label(self) -> str:
        return ALERT_LABELS.get(self.type, self.type)


@dataclass(frozen=True, slots=True)
class OutcomeView:
    """A final SLA outcome record."""

    ticket: str
    sla: str
    priority: str
    status: str
    elapsed_s: float
    target_s: float


def _json(value: bytes | None) -> dict[str, Any]:
    try:
        obj = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return {}
    return obj if isinstance(obj, dict) else {}


def parse_alert(value: bytes | None) -> AlertView | None:
    """The alert in a record of the alerts topic; None for anything else."""
    event = _json(value)
    try:
        data = event["data"]
        at = parse_rfc3339(data["at"])
        detected = parse_rfc3339(data["detected_at"])
        return AlertView(str(event["id"]), str(event["type"]), str(event["subject"]),
                         str(data["sla"]), str(data["priority"]), at,
                         max(0, detected - at))  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None


def parse_outcome(value: bytes | None) -> OutcomeView | None:
    """The outcome in a record of the outcomes topic; None for anything else."""
    r = _json(value)
    try:
        return OutcomeView(str(r["ticket_id"]), str(r["sla"]), str(r["priority"]),
                           str(r["status"]), float(r["elapsed_seconds"]),
                           float(r["target_seconds"]))  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None


def clock_text(ns: int) -> str:
    """An instant to the second, UTC: ``2026-12-01 14:12:03``."""
    return datetime.fromtimestamp(ns // NS_PER_S, UTC).strftime("%Y-%m-%d %H:%M:%S")


def seconds_text(seconds: float) -> str:
    """A duration short enough for a column: ``420ms``, ``12.3s``, ``20s``, ``3m5s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds == int(seconds) else f"{seconds:.1f}s"
    return format_duration(round(seconds) * NS_PER_S)
