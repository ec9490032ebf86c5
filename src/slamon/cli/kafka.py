"""What the commands that talk to Kafka share: its failures as one-line CLI errors.

Kafka clients are imported when a command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click


@contextlib.contextmanager
def kafka_errors(broker: str) -> Iterator[None]:
    """Kafka failures as one-line CLI errors (no traceback): unreachable, refused login."""
    from aiokafka.errors import KafkaError  # noqa: PLC0415

    from slamon.adapters.kafka import KafkaAccessError  # noqa: PLC0415
    from slamon.adapters.kafka_topics import TopicError  # noqa: PLC0415

    try:
        yield
    except KafkaAccessError as exc:
        raise click.ClickException(f"cannot reach Kafka at {broker}: {exc}") from None
    except (KafkaError, TopicError) as exc:
        raise click.ClickException(f"Kafka at {broker}: {exc}") from None
