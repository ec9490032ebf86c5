"""`slamon dashboards`: the Grafana boards generated from a policy (docs/metrics.md#boards)."""

from __future__ import annotations

from pathlib import Path

import click

from slamon.cli.options import POLICY, load_policy, out_dir_option, write_files


@click.command("dashboards")
@POLICY
@out_dir_option("grafana/dashboards", "SLAMON_DASHBOARDS_OUT", "boards")
def dashboards_command(policy_path: str | None, out_dir: Path) -> None:
    """Write the Grafana boards (SLA overview, quality, on-call, monitor health) as JSON.

    Threshold lines are the policy's targets and objectives; the queries read the
    worker's metrics and the rules of `slamon rules` through a Prometheus data source.
    """
    from slamon.adapters.grafana import dashboards, render  # noqa: PLC0415  (keeps --help fast)

    boards = dashboards(load_policy(policy_path))
    write_files(out_dir, {name: render(board) for name, board in boards.items()}, "boards")
