"""The ticket table: a store whose writes are also changelog records (adapters/outbox.py)."""

from __future__ import annotations

from typing import Any, cast

from slamon.adapters.outbox import ChangelogTable, Outbox


class CountingStore(dict[bytes, bytes]):
    """A store that counts single-key lookups (each is a search of every partition's
    database in Faust's rocksdb store)."""

    lookups = 0

    def __getitem__(self, key: bytes) -> bytes:
        CountingStore.lookups += 1
        return super().__getitem__(key)


def _table(store: dict[bytes, bytes], partition: int = 3) -> tuple[ChangelogTable, Outbox]:
    outbox = Outbox(lambda: cast(Any, None))  # never flushed here
    return ChangelogTable(outbox, "changelog", lambda: store, lambda: partition), outbox


def test_writes_go_to_the_store_and_to_the_changelog_of_the_current_partition() -> None:
    """A snapshot and a tombstone: both in the store and pending for the changelog."""
    store: dict[bytes, bytes] = {}
    table, outbox = _table(store)
    table[b"T-1"] = b"snap"
    table[b"T-2"] = b"snap2"
    del table[b"T-1"]
    assert store == {b"T-2": b"snap2"}
    assert [(p.topic, p.key, p.value, p.partition) for p in outbox._pending] == [
        ("changelog", b"T-1", b"snap", 3),
        ("changelog", b"T-2", b"snap2", 3),
        ("changelog", b"T-1", None, 3),
    ]


def test_items_walk_the_store_once_without_a_lookup_per_key() -> None:
    """A rebuild reads every snapshot: through the store's own items, not key by key."""
    store = CountingStore({f"T-{i}".encode(): b"s" for i in range(100)})
    table, _ = _table(store)
    CountingStore.lookups = 0
    assert dict(table.items()) == dict(store.items())
    assert CountingStore.lookups == 0
