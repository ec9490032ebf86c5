"""`slamon rules`: Prometheus rule files generated from a policy (docs/alerting.md)."""

from __future__ import annotations

from pathlib import Path

import click

from slamon.adapters.prom_rules import (
    DEFAULT_GRAFANA_URL,
    DEFAULT_MIN_JUDGED,
    DEFAULT_RUNBOOK_URL,
    Links,
    rule_files,
)
from slamon.cli.options import POLICY, load_policy, out_dir_option, setting, write_files


@click.command("rules")
@POLICY
@out_dir_option(".", "SLAMON_RULES_OUT", "rule files")
@setting(
    "--min-judged",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_JUDGED,
    envvar="SLAMON_RULES_MIN_JUDGED",
    help="SLAs that must be judged (met or breached) in a burn-rate alert's long window "
    "before it can fire, so that a handful of tickets cannot page.",
)
@setting(
    "--grafana-url",
    default=DEFAULT_GRAFANA_URL,
    envvar="SLAMON_RULES_GRAFANA_URL",
    help="Grafana base URL for the alerts' dashboard links (board slamon-sla-overview).",
)
@setting(
    "--runbook-url",
    default=DEFAULT_RUNBOOK_URL,
    envvar="SLAMON_RULES_RUNBOOK_URL",
    help="Runbook page for the alerts' runbook links; each alert links to #<alert name>.",
)
def rules_command(
    policy_path: str | None, out_dir: Path, min_judged: int, grafana_url: str, runbook_url: str
) -> None:
    """Write Prometheus recording and alerting rules for a policy's targets and objectives.

    Two files: slamon-sla.rules.yml (compliance, error budget, burn-rate alerts, duration
    quantiles) and slamon-monitor.rules.yml (alerts on the worker itself).
    """
    policy = load_policy(policy_path)
    files = rule_files(
        policy, min_judged=min_judged, links=Links(grafana_url=grafana_url, runbook_url=runbook_url)
    )
    write_files(out_dir, files, "rules")
