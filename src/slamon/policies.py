"""Where a policy comes from: a YAML file the user names, or the bundled default.

Kept apart from the composition root so that commands that only read a policy
(replay, generate, policy check) do not import the Kafka and Faust stack.
"""

from __future__ import annotations

from importlib.resources import files

from slamon.adapters.policy_yaml import load_policy, loads_policy
from slamon.core.policy import SlaPolicy

DEFAULT_POLICY = "default-policy.yaml"


def default_policy_text() -> str:
    return files("slamon.data").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")


def load_policy_or_default(path: str | None) -> SlaPolicy:
    """The policy at ``path``, or the bundled default policy."""
    if path is None:
        return loads_policy(default_policy_text(), source=f"<bundled {DEFAULT_POLICY}>")
    return load_policy(path)
