"""Repeat failures live: two real workers on a broker of this test's own reach replay's
``repeat_failure_rate`` through the repartition by asset (worker/assets.py).

The log: 160 tickets over 6 assets (and some without one), created 20 minutes apart,
resolved, some reopened and resolved again, some cancelled; a 2h repeat window, so some
resolved tickets repeat and some do not. It is published shuffled (late events, late
creations that refold a ticket) with duplicates, keyed by ticket id over 4 partitions, so
each asset's tickets are spread over partitions and both workers. The first half goes to
one worker; a second one joins (a rebalance: partitions of the input, the assets topic and
both tables move to it with their state) before the second half. The live figure is
docs/metrics.md's formula over both workers' /metrics.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from slamon.core.timefmt import format_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from tests.integration.harness import Deployment, fresh_broker, wait_until
from tests.quality_figures import figures, state_counts

POLICY = """\
apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: repeats}
spec:
  quality: {repeat_window: 2h}
  priorities:
    P1: {first_response: 1h, onsite_arrival: 2h, resolution: 4h}
    P2: {first_response: 2h, onsite_arrival: 4h, resolution: 8h}
    P3: {first_response: 4h, onsite_arrival: 8h, resolution: 16h}
    P4: {first_response: 8h, onsite_arrival: 16h, resolution: 32h}
"""
BASE = 1_790_000_000 * 10**9  # 2026-09, well before the wall clock
MIN = 60 * 10**9


def _log(tickets: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    events: list[dict[str, object]] = []

    def add(kind: str, ticket: str, at: int, data: dict[str, object] | None = None) -> None:
        events.append({"specversion": "1.0", "id": f"{ticket}-{len(events)}", "source": "/t",
                       "type": kind, "subject": ticket, "time": format_rfc3339(at),
                       "data": data})  # fmt: skip

    for i in range(tickets):
        ticket, created = f"T{i}", BASE + i * 20 * MIN + rng.randint(0, 10) * MIN
        data: dict[str, object] = {"priority": rng.choice(["P1", "P2", "P3", "P4"]),
                                   "region": rng.choice(["north", "south"])}  # fmt: skip
        if rng.random() < 0.9:
            data["asset_id"] = f"asset-{rng.randint(0, 5)}"
        add("ticket.created", ticket, created, data)
        if rng.random() < 0.1:
            add("ticket.cancelled", ticket, created + rng.randint(1, 60) * MIN)
            continue
        if rng.random() < 0.1:
            continue  # still open
        resolved = created + rng.randint(10, 300) * MIN
        add("ticket.resolved", ticket, resolved)
        if rng.random() < 0.3:
            reopened = resolved + rng.randint(5, 120) * MIN
            add("ticket.reopened", ticket, reopened)
            if rng.random() < 0.8:
                add("ticket.resolved", ticket, reopened + rng.randint(5, 200) * MIN)
    return events


def test_two_workers_give_replays_repeat_failure_rate(tmp_path: Path) -> None:
    events = _log(160, seed=7)
    lines = [orjson.dumps(e) for e in events]
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(POLICY)
    quality = replay(lines, load_policy_or_default(str(policy_path))).quality
    expected = quality["repeat_failure_rate"]
    assert expected is not None
    assert 0.2 < expected < 0.8, expected
    rng = random.Random(3)
    published = lines + rng.sample(lines, 40)  # duplicates
    rng.shuffle(published)  # late events, late creations

    with fresh_broker(tmp_path / "kafka") as broker:
        deploy = Deployment(broker.bootstrap, tmp_path, policy=policy_path, partitions=4)
        try:
            workers = [deploy.worker(0).start()]
            half = len(published) // 2

            def consumed(count: int) -> bool:
                return sum(w.metric("slamon_events_total", result=r) for w in workers
                           for r in ("processed", "duplicate")) >= count  # fmt: skip

            deploy.publish(published[:half])
            wait_until(lambda: consumed(half), 120, "the first worker to consume the first half")
            workers.append(deploy.worker(1).start())  # a rebalance: partitions move to it
            wait_until(lambda: all(w.get("/readyz", quiet=True) is not None for w in workers),
                       60, "both workers ready after the rebalance")  # fmt: skip
            deploy.publish(published[half:])
            wait_until(lambda: consumed(len(published)), 120, "every record consumed")

            def texts() -> list[str]:
                return [w.get("/metrics") or "" for w in workers]

            def live_rate() -> float | None:
                return figures(*texts())["repeat_failure_rate"]

            wait_until(lambda: live_rate() == expected, 60,
                       f"the live repeat failure rate to reach replay's {expected}")  # fmt: skip
            counts = state_counts(*texts())
            print(  # the figures, for the report  # noqa: T201
                f"replay {expected:.4f}; live {live_rate():.4f} = "
                f"{counts['repeat_failure']:.0f} / {counts['resolved_with_asset']:.0f}; "
                f"per worker: {[state_counts(t).get('repeat_failure') for t in texts()]}"
            )
            assert all(state_counts(t).get("resolved_with_asset") for t in texts()), (
                "both workers' asset agents must count: the assets are spread over them"
            )
        finally:
            for worker in deploy.workers:
                worker.kill()
