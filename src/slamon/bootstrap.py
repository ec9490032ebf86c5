"""The one place that wires slamon's parts together from settings."""

from __future__ import annotations

from importlib.resources import files

from slamon.adapters.policy_yaml import load_policy, loads_policy
from slamon.core.policy import SlaPolicy
from slamon.worker.settings import WorkerSettings

DEFAULT_POLICY = "default-policy.yaml"


def default_policy_text() -> str:
    return files("slamon.data").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")


def load_policy_or_default(path: str | None) -> SlaPolicy:
    """The policy at ``path``, or the bundled default policy."""
    if path is None:
        return loads_policy(default_policy_text(), source=f"<bundled {DEFAULT_POLICY}>")
    return load_policy(path)


def run_worker(settings: WorkerSettings, policy: SlaPolicy) -> None:
    """Wire and run the Kafka worker until SIGINT/SIGTERM."""
    import asyncio  # noqa: PLC0415

    import faust  # noqa: PLC0415

    from slamon.adapters.kafka import ensure_topics  # noqa: PLC0415
    from slamon.logs import configure_logging  # noqa: PLC0415
    from slamon.worker.app import create_app  # noqa: PLC0415

    configure_logging(settings.log_level, json=settings.log_json)
    settings = asyncio.run(_match_input_partitions(settings))
    topics = settings.topics
    names = [topics.events, topics.ticks(settings.app_id), topics.alerts, topics.outcomes,
             topics.dead_letter]  # fmt: skip
    asyncio.run(ensure_topics(settings.broker, names, settings.partitions))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    wired = create_app(settings, policy)
    worker = faust.Worker(
        wired.app, loglevel=settings.log_level, override_logging=False, redirect_stdouts=False,
        quiet=True,
    )  # fmt: skip
    worker.execute_from_commandline()


async def _match_input_partitions(settings: WorkerSettings) -> WorkerSettings:
    """Follow the input topic's partition count if it already exists.

    The ticket table, its changelog and the ticks topic must have exactly as many
    partitions as the input (co-partitioning); an input topic created earlier, e.g. by a
    producer with broker auto-creation, decides.
    """
    import dataclasses  # noqa: PLC0415

    import structlog  # noqa: PLC0415

    from slamon.adapters.kafka import partition_count  # noqa: PLC0415

    actual = await partition_count(settings.broker, settings.topics.events)
    if actual is None or actual == settings.partitions:
        return settings
    structlog.get_logger("slamon.worker").warning(
        "input topic partition count differs from --partitions; following the topic",
        topic=settings.topics.events, partitions=actual, configured=settings.partitions,
    )  # fmt: skip
    return dataclasses.replace(settings, partitions=actual)
