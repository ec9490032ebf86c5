"""The production wiring (``bootstrap.build_worker``), built without starting Faust or Kafka."""

from __future__ import annotations

from prometheus_client import generate_latest

from slamon.bootstrap import build_worker
from slamon.testing import ManualClock, instant, small_policy
from slamon.worker.settings import Topics, WorkerSettings

SETTINGS = WorkerSettings(app_id="wiring", store="memory://", topics=Topics(events="in"))


def test_the_app_has_two_agents_the_ticket_asset_and_board_tables_and_only_our_pages() -> None:
    """Two agents (the ticket agent alone writes the ticket table, the asset agent the asset
    table), four tables, the pages slamon serves."""
    declared, _ = build_worker(SETTINGS, small_policy(), clock=ManualClock(instant(0)))
    app = declared.app
    assert len(app.agents) == 2
    assert set(app.tables) == {"tickets", "assets", "board-1m", "board-1h"}
    assert set(app.web.views) == {
        "/metrics",
        "/healthz",
        "/readyz",
        "/tickets/{ticket_id}/timeline",
    }
    assert declared.changelog == "wiring-tickets-changelog"
    assert set(declared.source.topics) == {"in", "wiring-ticks"}
    assert set(declared.assets.topics) == {"wiring-assets"}
    assert declared.asset_changelog == "wiring-assets-changelog"


def test_one_injected_clock_drives_the_service_and_the_live_board() -> None:
    """The service and the board's windows read the same clock, in ns and in seconds."""
    clock = ManualClock(instant(0))
    declared, built = build_worker(SETTINGS, small_policy(), clock=clock)
    assert built.service.clock is clock
    window = declared.board.windows["1m"]
    clock.advance(90 * 10**9)
    assert window.get_timestamp() == clock.now / 1e9


def test_the_registry_exposes_service_engine_and_board_metrics_before_start() -> None:
    """A scrape before the first record answers, with every family the dashboards read."""
    _, built = build_worker(SETTINGS, small_policy(), clock=ManualClock(instant(0)))
    text = generate_latest(built.registry).decode()
    for family in ("slamon_events_total", "slamon_running_clocks", "slamon_board_clocks",
                   "slamon_ready"):  # fmt: skip
        assert f"# HELP {family} " in text, family
    assert built.service.ticks_topic == "wiring-ticks"


def test_every_table_gets_the_small_rocksdb_buffers() -> None:
    """The board's tables too: Faust's defaults (64 MiB memtables per partition) grew RSS."""
    from slamon.worker.app import ROCKSDB_OPTIONS  # noqa: PLC0415

    declared, _ = build_worker(SETTINGS, small_policy(), clock=ManualClock(instant(0)))
    assert {name: t.options for name, t in declared.app.tables.items()} == dict.fromkeys(
        ["tickets", "assets", "board-1m", "board-1h"], ROCKSDB_OPTIONS
    )


def test_only_the_input_topics_are_acked_so_faust_watches_them_alone_for_stalls() -> None:
    """Faust's stall check ("Stream has not started processing") covers acking topics only.

    The input and ticks topics ack (a stalled stream there is a real error); no stream
    reads a table's changelog, so none may ack, or a healthy worker logs false errors.
    """
    declared, _ = build_worker(SETTINGS, small_policy(), clock=ManualClock(instant(0)))
    assert declared.source.acks is True
    changelogs = {t.name: t.changelog_topic for t in declared.app.tables.values()}
    assert set(changelogs) == {"tickets", "assets", "board-1m", "board-1h"}
    assert {name: topic.acks for name, topic in changelogs.items()} == dict.fromkeys(
        changelogs, False
    )


def test_once_faust_begins_its_stop_a_failing_flush_gives_up_instead_of_retrying() -> None:
    """After ``on_before_shutdown`` a flush with no producer returns at once: it does not
    retry (with error logs) until the stop's grace kills the worker."""
    import asyncio  # noqa: PLC0415

    declared, built = build_worker(SETTINGS, small_policy(), clock=ManualClock(instant(0)))

    async def stop_then_flush() -> None:
        await declared.app.on_before_shutdown.send()
        await built.service.alerts.send(key=b"T1", value=b"{}")
        await asyncio.wait_for(built.service.flush(), timeout=2)  # producer never started

    asyncio.run(stop_then_flush())
