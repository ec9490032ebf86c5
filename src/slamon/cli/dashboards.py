"""`slamon dashboards`: the Grafana boards generated from a policy (docs/metrics.md#boards)."""

from __future__ import annotations

from pathlib import Path

import click

from slamon.cli.options import POLICY, load_policy


@click.command("dashboards")
@POLICY
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="grafana/dashboards",
    show_default=True,
    envvar="SLAMON_DASHBOARDS_OUT",
    help="Directory to write the boards to (created if missing; files in it replaced).",
)
def dashboards_command(policy_path: str | None, out_dir: Path) -> None:
    """Write the Grafana boards (SLA overview, quality, on-call, monitor health) as JSON.

    Threshold lines are the policy's targets and objectives; the queries read the
    worker's metrics and the rules of `slamon rules` through a Prometheus data source.
    """
    from slamon.adapters.grafana import dashboards, render  # noqa: PLC0415  (keeps --help fast)

    boards = dashboards(load_policy(policy_path))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, board in boards.items():
            (out_dir / name).write_text(render(board), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the boards to {out_dir}: {exc.strerror}"
        ) from None
    click.echo(f"wrote {', '.join(str(out_dir / name) for name in boards)}", err=True)
