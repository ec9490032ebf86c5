"""Options and helpers shared by several `slamon` commands.

Defaults come from :mod:`slamon.worker.settings`, the one place they are written.
"""

from __future__ import annotations

import click

from slamon.core.durations import format_duration, parse_duration
from slamon.core.policy import PolicyError, SlaPolicy
from slamon.core.timefmt import NS_PER_S
from slamon.worker.settings import Topics, WorkerSettings

DEFAULTS = WorkerSettings()
DEFAULT_TOPICS = Topics()


def load_policy(path: str | None) -> SlaPolicy:
    """The policy at ``path`` (None: the bundled one); a bad one is a clean CLI error."""
    from slamon.bootstrap import load_policy_or_default  # noqa: PLC0415  (keeps --help fast)

    try:
        return load_policy_or_default(path)
    except (PolicyError, OSError) as exc:
        raise click.ClickException(f"bad policy: {exc}") from None


def duration_s(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """Click callback: a duration such as ``90s`` or ``3d`` as seconds."""
    try:
        return parse_duration(value) / NS_PER_S
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def duration_text(seconds: float) -> str:
    """``seconds`` as a duration option's text, e.g. ``3d`` (the inverse of duration_s)."""
    return format_duration(round(seconds * NS_PER_S))


POLICY = click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="SLAMON_POLICY",
    help="SLA policy YAML (default: the bundled default policy).",
)
BROKER = click.option(
    "--broker",
    default=DEFAULTS.broker,
    show_default=True,
    envvar="SLAMON_BROKER",
    help="Kafka bootstrap server.",
)
PARTITIONS = click.option(
    "--partitions",
    type=click.IntRange(min=1),
    default=DEFAULTS.partitions,
    show_default=True,
    envvar="SLAMON_PARTITIONS",
    help="Partitions of the topics it creates (an existing input topic keeps its own).",
)
REPLICATION = click.option(
    "--replication-factor",
    "replication",
    type=click.IntRange(min=1),
    default=DEFAULTS.replication,
    show_default=True,
    envvar="SLAMON_REPLICATION_FACTOR",
    help="Replicas of each topic it creates (3 on a production cluster).",
)
EVENTS_TOPIC = click.option(
    "--events-topic",
    default=DEFAULT_TOPICS.events,
    show_default=True,
    envvar="SLAMON_EVENTS_TOPIC",
    help="Input topic of ticket events.",
)
