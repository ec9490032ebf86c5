"""The commands that talk to Kafka moved to their own modules: :mod:`.worker`,
:mod:`.publish`, :mod:`.simulate` (and :mod:`.kafka` for what they share).

Kept so that ``from slamon.cli.live import worker_command`` in older code (the tests)
still works; new code imports the real homes. Nothing in ``slamon.cli`` imports this.
"""

from __future__ import annotations

from slamon.cli.kafka import kafka_errors
from slamon.cli.publish import publish_command
from slamon.cli.simulate import simulate_command
from slamon.cli.worker import worker_command

__all__ = ["kafka_errors", "publish_command", "simulate_command", "worker_command"]
