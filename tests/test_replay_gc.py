"""The replay shell pauses cyclic garbage collection while it runs, and only then."""

from __future__ import annotations

import gc

import pytest

from slamon.replay import cyclic_gc_paused, replay
from slamon.testing import EventLog, at, small_policy


def test_replay_restores_an_enabled_collector_and_gives_its_result() -> None:
    """After a replay the collector is enabled again; the replay itself is unaffected."""
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(12))
    assert gc.isenabled()
    result = replay(log.lines(), small_policy())
    assert gc.isenabled()
    assert result.processed == 2
    assert [a.type.value for a in result.alerts] == ["sla.at_risk", "sla.breached"]


def test_the_pause_keeps_a_disabled_collector_disabled_and_survives_errors() -> None:
    """Inside, the collector is off; after, as before, even when the body raised."""
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(KeyError), cyclic_gc_paused():
        raise KeyError("boom")
    assert gc.isenabled()
