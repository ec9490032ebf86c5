"""The worker agrees with replay under SLA terms and an official holiday calendar.

The policy has terms by tier and region and an office calendar with China's official
holidays and make-up workdays (chinese-calendar, 2026); the log is the simulator's messy log
over National Day 2026 with ``ticket.updated`` events that move tickets between tiers
(some before, some after their clocks stop, some out of order). The comparison is
test_worker_equivalence's: every SLA replay sees settled has a final record equal to
replay's, status, elapsed and the terms' name; every replay breach has a standing alert.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from slamon.adapters.policy_yaml import load_policy
from slamon.core.decisions import AlertType
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import format_rfc3339, parse_rfc3339
from slamon.replay import replay
from slamon.simulate import generate_log
from tests.integration.harness import Deployment, assert_breaches_match, wait_until

HOURS = '["09:00-12:00", "13:00-18:00"]'
POLICY = f"""apiVersion: slamon/v1
kind: SlaPolicy
metadata: {{name: terms}}
spec:
  calendars:
    office:
      timezone: Asia/Shanghai
      weekly: {{mon: {HOURS}, tue: {HOURS}, wed: {HOURS}, thu: {HOURS}, fri: {HOURS}}}
      holidays: {{country: CN, years: 2026}}
      workday: mon
  priorities:
    P1: {{calendar: 24x7, first_response: 5m, onsite_arrival: 4h, resolution: 8h}}
    P2: {{calendar: 24x7, first_response: 15m, onsite_arrival: 8h, resolution: 24h}}
    P3: {{calendar: office, first_response: 1h, onsite_arrival: 8h, resolution: 24h}}
    P4: {{calendar: office, first_response: 4h, onsite_arrival: 24h, resolution: 48h}}
  terms:
    - name: gold-north
      match: {{customer_tier: [gold], region: [north]}}
      priorities:
        P1: {{onsite_arrival: 1h}}
        P4: {{calendar: 24x7}}
    - name: gold
      match: {{customer_tier: [gold]}}
      priorities:
        P2: {{first_response: 5m, onsite_arrival: 2h, resolution: 8h}}
        P3: {{first_response: 20m, onsite_arrival: 4h}}
"""


def _log(policy: SlaPolicy, tickets: int, seed: int) -> list[bytes]:
    lines = [
        r.encode() if isinstance(r, str) else orjson.dumps(r)
        for r in generate_log(
            policy, tickets, seed=seed, messy=True, start="2026-09-28T01:00:00Z", per_hour=6
        )
    ]
    rng = random.Random(seed)
    created = [orjson.loads(line) for line in lines if b'"ticket.created"' in line]
    updates = []
    for record in rng.sample(created, len(created) // 4):
        when = parse_rfc3339(record["time"]) + rng.randint(-600, 3 * 86400) * 10**9
        tier = rng.choice(["gold", "standard"])
        updates.append(orjson.dumps({
            "specversion": "1.0", "id": f"upd-{record['subject']}", "source": "/crm",
            "type": "ticket.updated", "subject": record["subject"],
            "time": format_rfc3339(when), "data": {"customer_tier": tier},
        }))  # fmt: skip
    for update in updates:  # anywhere in the log: many arrive late
        lines.insert(rng.randrange(len(lines) + 1), update)
    return lines


def test_worker_matches_replay_under_terms_and_official_holidays(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Settled outcomes (with their terms), standing breaches and dead letters agree."""
    path = tmp_path / "terms-policy.yaml"
    path.write_text(POLICY)
    policy = load_policy(path)
    lines = _log(policy, tickets=300, seed=5)
    expected = replay(lines, policy)
    names = {o.terms for o in expected.outcomes}
    assert {"gold", "gold-north", None} <= names, "the log must exercise every terms entry"
    assert any(b'"ticket.updated"' in line for line in lines)
    assert any(a.type == AlertType.RETRACTED for a in expected.alerts), "an update retracts"

    deployment.policy = path
    worker = deployment.worker().start()
    deployment.publish(lines)

    def consumed() -> bool:
        seen = sum(worker.metric("slamon_events_total", result=r)
                   for r in ("processed", "invalid", "duplicate"))  # fmt: skip
        return seen == len(lines)

    wait_until(consumed, 90, "the worker to consume every record")
    wait_until(lambda: worker.metric("slamon_consumer_lag") == 0, 30, "zero lag")
    assert worker.metric("slamon_events_total", result="invalid") == len(expected.invalid)

    last: dict[tuple[str, str], dict[str, object]] = {}
    for message in deployment.read("outcomes"):
        record = orjson.loads(message.value or b"")
        last[(record["ticket_id"], record["sla"])] = record
    settled = {(o.ticket_id, o.sla): o for o in expected.outcomes
               if o.stopped or o.status in ("cancelled", "not_applicable")}  # fmt: skip
    assert settled
    for pair, outcome in settled.items():
        record = last.get(pair)
        assert record is not None, f"no outcome record for {pair}"
        assert record["status"] == outcome.status, pair
        assert record.get("terms") == outcome.terms, pair
        assert record["target_seconds"] == outcome.target_ns / 1e9, pair
        assert round(float(str(record["elapsed_seconds"])), 3) == round(
            outcome.elapsed_ns / 1e9, 3
        ), pair

    assert_breaches_match(deployment, expected)
