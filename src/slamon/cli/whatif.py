"""`slamon replay --baseline OLD`: the same log under the baseline policy, side by side.

The comparison is the core's (:func:`slamon.core.whatif.compare`); this module replays
the log a second time and renders the table.
"""

from __future__ import annotations

from typing import IO, Any

import click

from slamon.cli.options import load_policy
from slamon.cli.process_exit import keep
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.replay import ReplayResult
from slamon.core.whatif import compare
from slamon.replay import replay

FLIPS_SHOWN = 20  # flipped pairs the summary lists; the report has all of them

BASELINE = click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also replay under this policy and compare: per priority and SLA, and the "
    "(ticket, SLA) pairs whose status flips (in the report as what_if).",
)


def what_if_report(
    events: IO[bytes], baseline_path: str, policy: SlaPolicy, result: ReplayResult
) -> dict[str, Any]:
    """Replay ``events`` again under the baseline policy (same evaluation time) and compare."""
    baseline = load_policy(baseline_path)
    if not events.seekable():
        raise click.UsageError("--baseline reads EVENTS twice: give a file, not a pipe")
    events.seek(0)
    base = replay(events, baseline, until=result.until)
    keep(base)  # freed by the process's exit, as the replay it is compared with
    return compare(base.outcomes, result.outcomes, (baseline.name, policy.name))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _signed_pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}"


def _hours(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value / 3600:+.2f}h" if signed else f"{value / 3600:.2f}h"


def render_what_if(what_if: dict[str, Any]) -> str:
    """The side-by-side table (at most 100 columns) and the first flipped pairs."""
    head = f"{'':8} {'':15} {'compliance':^23} {'breached':^20} {'p80':^26}"
    sub = (f"{'priority':8} {'sla':15} {'base':>7} {'new':>7} {'diff':>7} {'base':>6} "
           f"{'new':>6} {'diff':>6} {'base':>8} {'new':>8} {'diff':>8}")  # fmt: skip
    lines = [f"what if: policy {what_if['policy']!r} against baseline {what_if['baseline']!r}",
             "", head, sub]  # fmt: skip
    for priority in PRIORITIES:
        for sla in SLAS:
            cell = what_if["slas"][priority][sla]
            old, new, diff = cell["baseline"], cell["policy"], cell["difference"]
            lines.append(
                f"{priority:8} {sla:15} {_pct(old['compliance']):>7} "
                f"{_pct(new['compliance']):>7} {_signed_pct(diff['compliance']):>7} "
                f"{old['breached']:>6} {new['breached']:>6} {diff['breached']:>+6} "
                f"{_hours(old['p80_seconds']):>8} {_hours(new['p80_seconds']):>8} "
                f"{_hours(diff['p80_seconds'], signed=True):>8}"
            )
    flips = what_if["flips"]
    lines += ["", f"{len(flips)} (ticket, SLA) pairs change status"]
    for flip in flips[:FLIPS_SHOWN]:
        lines.append(f"  {flip['ticket_id'][:40]:40} {flip['sla']:15} "
                     f"{flip['baseline']} -> {flip['policy']}")  # fmt: skip
    if len(flips) > FLIPS_SHOWN:
        lines.append(f"  ... and {len(flips) - FLIPS_SHOWN} more (all: --report FILE)")
    return "\n".join(lines)
