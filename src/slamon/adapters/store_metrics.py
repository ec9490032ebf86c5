"""What rocksdb holds in memory per table, as Prometheus gauges (a Collector).

RSS alone cannot tell the worker's own memory from its stores': these are rocksdb's own
counters, summed over a table's partition databases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# label value -> rocksdb property
PROPERTIES = {
    "memtables": "rocksdb.cur-size-all-mem-tables",
    "table_readers": "rocksdb.estimate-table-readers-mem",
    "block_cache": "rocksdb.block-cache-usage",
}


class StoreMemoryCollector(Collector):
    """``slamon_store_memory_bytes{table, kind}``; ``tables`` maps a table's name to its
    open databases (none: a ``memory://`` store, not reported)."""

    def __init__(self, tables: dict[str, Callable[[], list[Any]]]) -> None:
        self.tables = tables

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "slamon_store_memory_bytes",
            "Memory rocksdb holds for a table, summed over its partitions: memtables, "
            "table readers (indexes and filters), block cache.",
            labels=["table", "kind"],
        )
        for name, databases in self.tables.items():
            open_dbs = databases()
            if not open_dbs:
                continue
            for kind, prop in PROPERTIES.items():
                family.add_metric([name, kind], sum(_value(db, prop) for db in open_dbs))
        yield family


def _value(db: Any, prop: str) -> int:
    try:
        return int(db.property_int_value(prop) or 0)
    except Exception:  # a database closing under a rebalance: counts as empty
        return 0
