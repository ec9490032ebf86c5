"""Standby replicas (``--standbys 1``, rocksdb store): a takeover starts from a warm copy.

The worker writes its changelog records itself (batched through the outbox, see
``TicketTable``), not through Faust's table API; a standby is fed by Faust reading that
changelog topic, so it must still see every record. Observable: at the takeover, Faust's
recovery of the dead worker's changelog partitions starts at the offset the standby copy
had already applied (its rocksdb persisted offset), not at the beginning; Faust logs both
the start offsets and the highwaters of every active changelog partition it recovers.
"""

from __future__ import annotations

import signal
import time

import orjson
import pytest

from slamon.core.timefmt import NS_PER_S, format_rfc3339
from tests.integration.harness import (
    Deployment,
    Worker,
    alert_ids,
    expected_breach_ids,
    short_policy,
    wait_until,
)

pytestmark = pytest.mark.faults

TICKETS = 32
DITTO = "\u3003"  # Faust's log tables write a repeated topic name as a ditto mark


def _standby_worker(deployment: Deployment, index: int) -> Worker:
    worker = deployment.worker(index)
    worker.args[worker.args.index("memory://")] = "rocksdb://"
    worker.args += ["--standbys", "1"]
    return worker


def _open_tickets(prefix: str, created: int) -> list[bytes]:
    """P3 and P4 tickets (first deadlines 8 and 10 s away), every other pair on site."""
    lines = []
    for i in range(TICKETS):
        data = {"priority": f"P{3 + i % 2}", "service": "onsite" if i % 4 >= 2 else "remote"}
        lines.append(orjson.dumps({
            "specversion": "1.0", "id": f"{prefix}-c{i}", "source": "/standby",
            "type": "ticket.created", "subject": f"{prefix}-{i}", "time": format_rfc3339(created),
            "data": data,
        }))  # fmt: skip
    return lines


def _log_records(worker: Worker, since: int = 0) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in worker.log()[since:].splitlines() if line[:1] == "{"]


def _last_partitions(records: list[dict[str, object]], event: str) -> list[int]:
    found: list[int] = []
    for record in records:
        if record.get("event") == event:
            found = list(record["partitions"])  # type: ignore[call-overload]
    return found


def _changelog_table(records: list[dict[str, object]], title: str, topic: str) -> dict[int, int]:
    """The last Faust recovery log table named ``title``: partition -> offset, for ``topic``."""
    table: dict[int, int] = {}
    for record in records:
        text = str(record.get("event", ""))
        if title not in text:
            continue
        table, current = {}, None
        for line in text.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) != 3 or not cells[1].isdigit():
                continue
            current = current if cells[0] == DITTO else cells[0]
            if current == topic:
                table[int(cells[1])] = int(cells[2])
    return table


def test_the_survivor_takes_over_from_its_standby_copy(deployment: Deployment) -> None:
    """SIGKILL one of two workers: the other fires its due alerts without replaying its log."""
    deployment.policy = short_policy(deployment.tmp)
    deployment.partitions = 4
    changelog = f"{deployment.app_id}-tickets-changelog"
    first = _standby_worker(deployment, 0).start()
    second = _standby_worker(deployment, 1).start()
    wait_until(
        lambda: len(_last_partitions(_log_records(first), "recovered")) == 2
        and len(_last_partitions(_log_records(second), "recovered")) == 2,
        30, "the two workers to split the partitions",
    )  # fmt: skip
    lines = _open_tickets("sb", time.time_ns() + NS_PER_S)
    expected = expected_breach_ids(lines)
    deployment.publish(lines)

    def processed() -> float:
        return sum(w.metric("slamon_events_total", result="processed") for w in (first, second))

    wait_until(lambda: processed() == TICKETS, 20, "both workers to take their tickets")
    killed = _last_partitions(_log_records(first), "recovered")
    standby = _changelog_table(_log_records(second), "Reading Starts At - Standby", changelog)
    assert set(killed) <= set(standby), f"the survivor must be standby for {killed}: {standby}"
    time.sleep(2.0)  # the standby reads the changelog as it is written; no alert is due yet
    assert not expected & set(alert_ids(deployment.read("alerts"))), "killed before any breach"
    mark = len(second.log())
    first.kill(signal.SIGKILL)
    killed_at = time.monotonic()

    wait_until(lambda: expected <= set(alert_ids(deployment.read("alerts"))), 60,
               "every breach alert from the survivor")  # fmt: skip
    fired = time.monotonic() - killed_at
    after = _log_records(second, mark)
    assert _last_partitions(after, "recovered") == [0, 1, 2, 3]
    highwater = _changelog_table(after, "Highwater - Active", changelog)
    start = _changelog_table(after, "Reading Starts At - Active", changelog)
    # Faust's offsets are "last one applied": the log holds highwater + 1 records, the
    # takeover replayed highwater - start of them
    size = {p: highwater[p] + 1 for p in killed}
    replayed = {p: highwater[p] - start[p] for p in killed}
    assert all(size[p] > 0 for p in killed), (size, "the dead worker's changelog must hold records")
    assert all(replayed[p] < size[p] for p in killed), (replayed, size)
    assert sum(replayed.values()) <= sum(size.values()) // 2, (replayed, size)
    print(  # noqa: T201
        f"[standby] killed partitions {killed}: changelog records {size}, replayed at takeover "
        f"{replayed}; every due alert {fired:.1f}s after the SIGKILL"
    )
