"""Decisions as values: alert types and statuses are StrEnums whose JSON is the plain string.

Every record the shells write goes through ``orjson.dumps`` of ``to_dict()``; the bytes must
be exactly those of the same record built from plain strings.
"""

from __future__ import annotations

import orjson
import pytest

from slamon.core.decisions import (
    DUPLICATE,
    LATE,
    Alert,
    AlertType,
    Outcome,
    Rejected,
    Status,
    alert_id,
)
from slamon.core.timefmt import NS_PER_S


def test_alert_types_are_the_wire_strings() -> None:
    assert [t.value for t in AlertType] == ["sla.at_risk", "sla.breached", "sla.breach_retracted"]
    assert AlertType.BREACHED == "sla.breached"  # type: ignore[comparison-overlap]
    assert str(AlertType.AT_RISK) == f"{AlertType.AT_RISK}" == "sla.at_risk"


def test_statuses_are_the_contract_strings() -> None:
    assert [s.value for s in Status] == ["met", "breached", "open", "not_applicable", "cancelled"]
    assert Status.BREACHED == "breached" != AlertType.BREACHED  # type: ignore[comparison-overlap]


@pytest.mark.parametrize("kind", list(AlertType))
def test_alert_json_is_identical_to_plain_strings(kind: AlertType) -> None:
    alert = Alert(alert_id("T1", "resolution", kind, 2), kind, "T1", "resolution", "P2", None, 0)
    plain = {**alert.to_dict(), "type": str(kind.value)}  # (a compiled core takes no str)
    assert orjson.dumps(alert.to_dict()) == orjson.dumps(plain)
    assert orjson.dumps(alert.to_dict()).count(f'"type":"{kind.value}"'.encode()) == 1
    assert alert.id == alert_id("T1", "resolution", kind.value, 2)  # same key as the string


@pytest.mark.parametrize("status", list(Status))
def test_outcome_json_is_identical_to_plain_strings(status: Status) -> None:
    outcome = Outcome("T1", "first_response", "P1", status, NS_PER_S, 600 * NS_PER_S, None, True)
    plain = {**outcome.to_dict(), "status": str(status.value)}
    assert orjson.dumps(outcome.to_dict()) == orjson.dumps(plain)
    assert outcome.status == status.value  # members compare equal to their strings


def test_measured_means_stopped_and_met_or_breached() -> None:
    def outcome(status: Status, stopped: bool) -> Outcome:
        return Outcome("T", "resolution", "P1", status, 1, 2, None, stopped)

    assert outcome(Status.MET, True).measured
    assert outcome(Status.BREACHED, True).measured
    assert not outcome(Status.BREACHED, False).measured
    assert not outcome(Status.CANCELLED, True).measured
    assert not outcome(Status.OPEN, False).measured


def test_rejections_are_frozen_values() -> None:
    assert (DUPLICATE.reason, LATE.reason) == ("duplicate", "late")
    assert Rejected("late") == LATE != DUPLICATE
    with pytest.raises(AttributeError):
        DUPLICATE.reason = "late"  # type: ignore[misc]
