"""The `slamon` command line: one entry point for every shell.

The only place that knows every command: :mod:`.options` holds what several share,
:mod:`.offline` the commands without Kafka (:mod:`.rules` the Prometheus rules,
:mod:`.dashboards` the Grafana boards), :mod:`.worker`, :mod:`.publish`, :mod:`.simulate`,
:mod:`.tail` and :mod:`.watch` those with. None of them imports this module back.
"""

from __future__ import annotations

import click

from slamon import __version__
from slamon.cli.dashboards import dashboards_command
from slamon.cli.explain import explain_command
from slamon.cli.offline import generate_command, policy_group, replay_command
from slamon.cli.options import CommandGroup
from slamon.cli.process_exit import run as run_cli
from slamon.cli.publish import publish_command
from slamon.cli.report import report_command
from slamon.cli.rules import rules_command
from slamon.cli.simulate import simulate_command
from slamon.cli.tail import tail_command
from slamon.cli.watch import watch_command
from slamon.cli.worker import worker_command
from slamon.core import build as core_build

__all__ = ["main", "run"]


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slamon",
                      message=f"%(prog)s %(version)s (core: {core_build()})")  # fmt: skip
def main() -> None:
    """slamon: SLA clocks and breach alerts for repair and field-service tickets."""


for _command in (replay_command, generate_command, policy_group,
                 worker_command, publish_command, simulate_command, tail_command,
                 watch_command, rules_command, dashboards_command,
                 explain_command, report_command):  # fmt: skip
    main.add_command(_command)


def run() -> None:
    """The `slamon` script: :func:`main`, leaving without teardown after a big replay."""
    run_cli(main)
