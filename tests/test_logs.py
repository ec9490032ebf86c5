"""Log output: repeated messages held back with a count; every line a JSON object."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import orjson
import pytest
import structlog

from slamon.logs import RepeatFilter, configure_logging


class Seconds:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args: object, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_the_same_message_passes_a_few_times_per_window_then_a_count() -> None:
    """1,932 'Unable connect' lines in an outage become 3 per 30 s plus how many were held."""
    clock = Seconds()
    repeat = RepeatFilter(window_s=30, burst=3, clock=clock)
    passed = [repeat.filter(_record("Unable connect to node %s: %s", 1, i)) for i in range(100)]
    assert passed == [True] * 3 + [False] * 97
    clock.now = 30.0
    first = _record("Unable connect to node %s: %s", 1, "again")
    assert repeat.filter(first)
    assert first.repeated == 97  # type: ignore[attr-defined]


def test_other_messages_and_other_loggers_are_not_held_back() -> None:
    """The filter keys on logger, level and message template."""
    repeat = RepeatFilter(window_s=30, burst=1, clock=Seconds())
    assert repeat.filter(_record("a"))
    assert repeat.filter(_record("b"))
    assert repeat.filter(_record("a", name="faust"))
    assert not repeat.filter(_record("a"))


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    structlog.reset_defaults()


@pytest.mark.usefixtures("restored_logging")
def test_worker_logs_are_one_json_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdlib and structlog records alike render as JSON, one object per line."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("info", json=True)
    logging.getLogger("aiokafka").error("Unable connect to node %s", 1)
    structlog.get_logger("slamon.worker").info("alert", ticket_id="T-1")
    lines = stream.getvalue().splitlines()
    assert [orjson.loads(line)["event"] for line in lines] == [
        "Unable connect to node 1", "alert"]  # fmt: skip


def test_structured_events_are_not_tracked_and_the_memory_stays_bounded() -> None:
    """Each alert log is a distinct dict: never held back, never remembered."""
    repeat = RepeatFilter(window_s=30, burst=1, clock=Seconds())
    for i in range(5000):
        record = _record("x")
        record.msg = {"event": "alert", "ticket_id": f"T{i}"}
        assert repeat.filter(record)
    assert repeat._seen == {}
    for i in range(5000):
        repeat.filter(_record(f"template {i}"))
    assert len(repeat._seen) <= 1001


def _fail() -> None:
    raise ZeroDivisionError("boom")


@pytest.mark.usefixtures("restored_logging")
def test_slamon_events_are_filtered_by_level_and_carry_level_logger_and_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below the level nothing is written; an exception logs its traceback as a field."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("info", json=True)
    log = structlog.get_logger("slamon.test-levels")
    log.debug("hidden", ticket_id="T-0")
    try:
        _fail()
    except ZeroDivisionError:
        log.exception("record failed", partition=3)
    (line,) = [orjson.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["event"], line["level"], line["logger"], line["partition"]) == (
        "record failed", "error", "slamon.test-levels", 3)  # fmt: skip
    assert "ZeroDivisionError: boom" in line["exception"]
    assert line["timestamp"].endswith("Z")


@pytest.mark.usefixtures("restored_logging")
def test_values_orjson_refuses_are_still_logged_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """An integer past 64 bits or a non-string key: rendered by the standard library."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("info", json=True)
    structlog.get_logger("slamon.test-values").warning("odd", big=10**30, keys={1: "a"})
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["big"] == 10**30
    assert line["keys"] == {"1": "a"}


@pytest.mark.usefixtures("restored_logging")
def test_a_cached_logger_writes_to_the_stream_of_the_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stream is looked up at each line, so swapping sys.stderr is honoured."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure_logging("info", json=True)
    log = structlog.get_logger("slamon.test-stream")
    log.info("one")
    monkeypatch.setattr("sys.stderr", second)
    log.info("two")
    assert [orjson.loads(t)["event"] for t in first.getvalue().splitlines()] == ["one"]
    assert [orjson.loads(t)["event"] for t in second.getvalue().splitlines()] == ["two"]
