"""Objectives in the policy: per priority or per SLA, defaults per priority, strict values."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from slamon.adapters.policy_yaml import loads_policy
from slamon.core.policy import SLAS, PolicyError, policy_from_dict
from slamon.core.policy_fields import DEFAULT_OBJECTIVES
from tests.core.test_policy import doc


def test_defaults_per_priority() -> None:
    """No objective written: P1 0.99, P2 0.98, P3 0.95, P4 0.90 for every SLA."""
    policy = policy_from_dict(doc())
    expected = {"P1": "0.99", "P2": "0.98", "P3": "0.95", "P4": "0.9"}
    for priority, value in expected.items():
        assert DEFAULT_OBJECTIVES[priority] == Fraction(value)
        for sla in SLAS:
            assert policy.objective(priority, sla) == Fraction(value)


def test_one_objective_for_every_sla_of_a_priority() -> None:
    """``objective: 0.995`` under P2 sets all three of P2's SLAs, exactly as written."""
    policy = policy_from_dict(doc(("spec.priorities.P2.objective", 0.995)))
    assert {policy.objective("P2", sla) for sla in SLAS} == {Fraction(995, 1000)}
    assert policy.objective("P1", "resolution") == Fraction(99, 100)


def test_objectives_per_sla_keep_the_default_for_the_others() -> None:
    """A mapping sets the SLAs it names; the priority's default holds for the rest."""
    policy = policy_from_dict(doc(("spec.priorities.P3.objective", {"resolution": "0.8"})))
    assert policy.objective("P3", "resolution") == Fraction(4, 5)
    assert policy.objective("P3", "first_response") == Fraction(95, 100)


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        (1, "objective", "must be between 0 and 1 (exclusive), got 1"),
        (0, "objective", "must be between 0 and 1 (exclusive), got 0"),
        (1.5, "objective", "must be between 0 and 1 (exclusive)"),
        ("99%", "objective", "expected a number between 0 and 1 such as 0.99, got '99%'"),
        (True, "objective", "expected a number between 0 and 1 such as 0.99"),
        ("1e-99999999", "objective", "expected a number between 0 and 1 such as 0.99"),
        ({"resolutoin": 0.9}, "objective.resolutoin", "unknown key 'resolutoin'"),
        ({"resolution": 1}, "objective.resolution", "must be between 0 and 1"),
    ],
    ids=str,
)
def test_bad_objectives_name_the_field(value: Any, path: str, message: str) -> None:
    """An objective outside (0, 1), not a plain decimal, or for an unknown SLA is an error
    naming spec.priorities.P1.objective[.sla]."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(doc(("spec.priorities.P1.objective", value)))
    assert caught.value.path == ("spec", "priorities", "P1", *path.split("."))
    assert message in str(caught.value)


def test_a_bad_objective_in_yaml_gives_file_and_line() -> None:
    """In a file, the error names the file, the objective's line and the field."""
    text = """\
apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: objectives}
spec:
  priorities:
    P1: {first_response: 5m, onsite_arrival: 4h, resolution: 8h}
    P2:
      first_response: 15m
      onsite_arrival: 8h
      resolution: 24h
      objective: {first_response: 0.99, resolution: 1.01}
    P3: {first_response: 1h, onsite_arrival: 8h, resolution: 24h}
    P4: {first_response: 4h, onsite_arrival: 24h, resolution: 48h}
"""
    with pytest.raises(PolicyError) as caught:
        loads_policy(text, source="my-policy.yaml")
    assert str(caught.value) == (
        "my-policy.yaml:11: spec.priorities.P2.objective.resolution: "
        "must be between 0 and 1 (exclusive), got 1.01"
    )
    fixed = loads_policy(text.replace("1.01", "0.97"))
    assert fixed.objective("P2", "resolution") == Fraction(97, 100)
    assert fixed.objective("P2", "onsite_arrival") == Fraction(98, 100)
