"""Snapshots: the wire layout of the worker's table, validation, and all-or-nothing restore.

Policy: ``small_policy`` (24x7; P1 first response 10m, at risk at 7.5m). Instants are
``ns(minutes)`` after 2026-11-23T08:00Z.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from slamon.adapters.jsonl import decode_line
from slamon.core.live import LiveEngine, Snapshot, SnapshotError
from slamon.core.timefmt import NS_PER_S, parse_rfc3339
from slamon.testing import EventLog, at, small_policy

POLICY = small_policy()


def ns(minutes: float) -> int:
    return parse_rfc3339(at(minutes))


def live() -> LiveEngine:
    return LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)


def engine_with_t1() -> LiveEngine:
    """T1 (P1, remote) created at 0 on shard 3, at risk and breached by 11m."""
    engine = live()
    log = EventLog()
    log.add("ticket.created", "T1", at(0), {"priority": "P1"}, id="c1")
    for seq, line in enumerate(log.lines()):
        assert isinstance(engine.ingest(decode_line(line, seq), ns(0), shard=3), list)
    assert len(engine.advance(ns(11))) == 2
    return engine


def test_wire_layout_is_the_plain_list_of_the_table() -> None:
    """to_list() gives exactly the table's JSON list: version, shard, final_since, settled,
    risk_sent, standing, generation, events (each event's fields in Event order)."""
    snapshot = LiveEngine.export(engine_with_t1().tickets["T1"])
    assert (snapshot.version, snapshot.shard, snapshot.final_since) == (1, 3, None)
    # onsite_arrival (bit 1) of a remote ticket is final and was reported; FR at risk + breached
    assert (snapshot.settled, snapshot.risk_sent, snapshot.standing) == (2, 1, 1)
    assert snapshot.generation == [1, 0, 0]
    event = ["c1", "ticket.created", "T1", ns(0), 0, "/test", "P1", "remote"]
    event += [None] * 8
    assert orjson.dumps(snapshot.to_list()) == orjson.dumps(
        [1, 3, None, 2, 1, 1, [1, 0, 0], [event]]
    )


def test_from_list_of_the_stored_bytes_gives_the_exported_snapshot() -> None:
    snapshot = LiveEngine.export(engine_with_t1().tickets["T1"])
    assert Snapshot.from_list(orjson.loads(orjson.dumps(snapshot.to_list()))) == snapshot


def test_shard_of_reads_the_shard_without_validating() -> None:
    assert Snapshot.shard_of([99, 7]) == 7
    with pytest.raises(SnapshotError):
        Snapshot.shard_of({"shard": 7})


GOOD: list[Any] = [1, 0, None, 0, 0, 0, [0, 0, 0], [["e", "ticket.created", "T", 0, 0, "/s", "P1"]]]


def _with(index: int, value: Any) -> list[Any]:
    record = list(GOOD)
    record[index] = value
    return record


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ("not a list", "list of fields"),
        ([], "list of fields"),
        (_with(0, 2), "unknown snapshot version 2"),
        (_with(0, True), "unknown snapshot version True"),
        (GOOD[:7], "expected 8 fields, got 7"),
        ([*GOOD, 0], "expected 8 fields, got 9"),
        (_with(1, "0"), "integers"),
        (_with(4, True), "integers"),
        (_with(2, 1.5), "final_since"),
        (_with(6, [0, 0]), "generation"),
        (_with(6, [0, 0, None]), "generation"),
        (_with(7, {}), "events"),
        (_with(7, [["e", "ticket.created", "T", 0]]), "events"),
        (_with(7, [["e"] * 17]), "events"),
    ],
)
def test_from_list_rejects_a_bad_version_or_shape(record: Any, match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        Snapshot.from_list(record)
    assert issubclass(SnapshotError, ValueError)


def test_from_list_accepts_the_minimal_shape() -> None:
    snapshot = Snapshot.from_list(GOOD)
    assert snapshot.events == [["e", "ticket.created", "T", 0, 0, "/s", "P1"]]
    engine = live()
    assert engine.restore("T", snapshot, 0) == []
    assert engine.tickets["T"].fold.created_at == 0


def test_a_failed_restore_leaves_no_half_restored_ticket() -> None:
    """An event whose time is not a number: SnapshotError, nothing added, nothing recorded."""
    broken = _with(7, [["e", "ticket.created", "T", "yesterday", 0, "/s", "P1"]])
    engine = live()
    with pytest.raises(SnapshotError, match="snapshot of ticket 'T' not restored"):
        engine.restore("T", Snapshot.from_list(broken), ns(1))
    assert engine.tickets == {}
    assert engine.drain_outcomes() == []
    assert engine.drain_touched() == set()
    assert engine.advance(ns(1000)) == []


def test_a_failed_restore_keeps_the_ticket_held_before() -> None:
    engine = engine_with_t1()
    held = engine.tickets["T1"]
    engine.drain_outcomes()
    broken = _with(7, [["e", "ticket.created", "T1", "yesterday", 0]])
    with pytest.raises(SnapshotError):
        engine.restore("T1", Snapshot.from_list(broken), ns(12))
    assert engine.tickets["T1"] is held
    assert engine.drain_outcomes() == []
