"""The worker on a real broker reaches replay's outcomes and alert invariant on the same log.

The worker's clock is the wall clock, long after the log's events, so the comparison is
the one the contract allows: every SLA that replay sees stopped (or cancelled, or not
applicable) has a final record equal to replay's, status and elapsed to the millisecond;
every replay breach has a standing breach alert; any other standing breach is a clock
replay sees still running; every invalid line reaches the dead-letter topic.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from slamon.core.timefmt import format_rfc3339, parse_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.simulate import generate_log
from tests.integration.harness import Deployment, assert_matches_replay, wait_until
from tests.quality_figures import FORMULAS, figures


def _messy_log(tickets: int, seed: int) -> list[bytes]:
    policy = load_policy_or_default(None)
    return [
        r.encode() if isinstance(r, str) else orjson.dumps(r)
        for r in generate_log(policy, tickets, seed=seed, messy=True)
    ]


def test_worker_matches_replay_on_a_messy_log(deployment: Deployment) -> None:
    """Outcomes, standing breaches and dead letters of the worker agree with replay."""
    lines = _messy_log(tickets=400, seed=11)
    expected = replay(lines, load_policy_or_default(None))
    assert expected.duplicates > 0, "the log must exercise duplicates"
    assert expected.invalid, "the log must exercise invalid lines"

    worker = deployment.worker().start()
    deployment.publish(lines)

    def consumed() -> bool:
        seen = sum(worker.metric("slamon_events_total", result=r)
                   for r in ("processed", "invalid", "duplicate"))  # fmt: skip
        return seen == len(lines)

    wait_until(consumed, 90, "the worker to consume every record")
    wait_until(lambda: worker.metric("slamon_consumer_lag") == 0, 30, "zero lag")
    assert worker.metric("slamon_events_total", result="invalid") == len(expected.invalid)
    assert worker.metric("slamon_events_total", result="duplicate") == expected.duplicates

    assert_matches_replay(deployment, expected)


def _leave_some_open(lines: list[bytes], count: int) -> list[bytes]:
    """``lines`` and, after their last resolve, a reopen of ``count`` resolved tickets and
    ``count`` tickets only created: the generator resolves every ticket in the end."""
    resolved: dict[str, int] = {}
    for line in lines:
        with contextlib.suppress(orjson.JSONDecodeError, ValueError, TypeError, KeyError):
            event = orjson.loads(line)
            if event["type"] == "ticket.resolved":
                resolved[event["subject"]] = parse_rfc3339(event["time"])
    end = format_rfc3339(max(resolved.values()) + 60 * 1_000_000_000)
    extra: list[dict[str, Any]] = [{"type": "ticket.reopened", "subject": ticket, "data": None}
             for ticket in sorted(resolved)[:count]]  # fmt: skip
    extra += [{"type": "ticket.created", "subject": f"open-{i}", "data": {"priority": "P2"}}
              for i in range(count)]  # fmt: skip
    return [*lines, *(orjson.dumps({"specversion": "1.0", "id": f"open-{i}", "source": "/t",
                                    "time": end, **e}) for i, e in enumerate(extra))]  # fmt: skip


def test_worker_quality_counters_give_replays_figures(deployment: Deployment) -> None:
    """repair, completion, complaint and complaint resolution rates computed from the real
    worker's /metrics samples by docs/metrics.md's formulas equal replay's report figures
    on a messy log (late, duplicate and invalid lines; resolves, reopens, cancels,
    priority changes, complaints, surveys, product categories)."""
    lines = _leave_some_open(_messy_log(tickets=300, seed=23), 12)
    expected = replay(lines, load_policy_or_default(None))
    log = b"\n".join(lines)
    for kind in ("ticket.reopened", "ticket.cancelled", "ticket.priority_changed",
                 "complaint.filed", "complaint.resolved", "survey.submitted"):  # fmt: skip
        assert b'"type":"%s"' % kind.encode() in log, f"the log must exercise {kind}"
    assert b'"product_category":' in log
    quality = expected.quality
    assert all(0 < quality[name] < 1 for name in FORMULAS), quality

    worker = deployment.worker().start()
    deployment.publish(lines)

    def consumed() -> bool:
        seen = sum(worker.metric("slamon_events_total", result=r)
                   for r in ("processed", "invalid", "duplicate"))  # fmt: skip
        return seen == len(lines)

    wait_until(consumed, 90, "the worker to consume every record")
    got = figures(worker.get("/metrics") or "")
    assert got["tickets"] == quality["tickets"]
    for name in FORMULAS:
        assert got[name] == quality[name], (name, got[name], quality[name])
