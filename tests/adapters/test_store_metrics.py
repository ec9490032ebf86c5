"""rocksdb's own memory counters as gauges, per table (adapters/store_metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rocksdict import Options, Rdict

from slamon.adapters.store_metrics import StoreMemoryCollector


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[list[Rdict]]:
    dbs = [Rdict(str(tmp_path / f"p{i}"), Options(raw_mode=True)) for i in range(2)]
    yield dbs
    for db in dbs:
        db.close()


def _gauges(collector: StoreMemoryCollector) -> dict[tuple[str, str], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (s.labels["table"], s.labels["kind"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_memtables_are_summed_over_a_tables_partitions(databases: list[Rdict]) -> None:
    """Writes sit in the memtables until a flush: the gauge is the sum of both partitions'
    and grows with what is written; each kind has its series."""
    first: list[Any] = databases[:1]
    both: list[Any] = databases
    databases[0][b"k"] = b"v" * 1000
    alone = _gauges(StoreMemoryCollector({"tickets": lambda: first}))
    for i in range(200):
        databases[1][f"k{i}".encode()] = b"v" * 1000
    summed = _gauges(StoreMemoryCollector({"tickets": lambda: both}))
    assert set(summed) == {("tickets", k) for k in ("memtables", "table_readers", "block_cache")}
    assert summed["tickets", "memtables"] > alone["tickets", "memtables"] + 200_000


def test_a_table_without_open_databases_is_not_reported() -> None:
    """A ``memory://`` store opens none: no series rather than zeros that look measured."""
    assert _gauges(StoreMemoryCollector({"tickets": list})) == {}
