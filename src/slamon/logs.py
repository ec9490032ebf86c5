"""Structured logs: JSON lines via structlog, stdlib logging (Faust, aiokafka) routed through it.

Log fields carry ticket ids and counts, never customer data (regions, tiers, names).
"""

from __future__ import annotations

import json as stdlib_json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import structlog

REPEAT_WINDOW_S = 30.0
REPEAT_BURST = 3  # the same message this many times per window, then a count
MAX_TRACKED = 1000  # message templates remembered at most


class RepeatFilter(logging.Filter):
    """Lets the same message (logger, level, template) through a few times per window.

    A broker outage makes aiokafka log "Unable connect to node ..." for every attempt:
    thousands of lines that bury the one that matters. The first line after a quiet
    window carries how many were held back (``repeated``).
    """

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, burst: int = REPEAT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        super().__init__()
        self.window_s, self.burst, self.clock = window_s, burst, clock
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}  # start, passed, held

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):  # an event dict (structlog through stdlib): unique
            return True
        if len(self._seen) > MAX_TRACKED:  # bounded whatever the templates
            self._seen.clear()
        key = (record.name, record.levelno, record.msg)
        now = self.clock()
        entry = self._seen.get(key)
        if entry is None or now - entry[0] >= self.window_s:
            held = int(entry[2]) if entry is not None else 0
            self._seen[key] = [now, 1, 0]
            if held:
                record.repeated = held
            return True
        if entry[1] < self.burst:
            entry[1] += 1
            return True
        entry[2] += 1
        return False


class StderrLines:
    """Where structlog writes slamon's own events: each line to the current ``sys.stderr``.

    Looked up at each write, not kept, so a swapped stream (tests) is honoured.
    """

    def __init__(self, name: str) -> None:
        self.name = name  # read by add_logger_name

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warn = warning = error = critical = fatal = exception = log = msg


def _stderr_lines(*args: Any) -> StderrLines:
    return StderrLines(str(args[0]) if args else "slamon")


def _dumps(value: Any, **_: Any) -> str:
    """JSON with orjson; what orjson refuses (an integer past 64 bits, a non-string key)
    with the standard library."""
    try:
        return orjson.dumps(value, default=repr).decode()
    except TypeError:
        return stdlib_json.dumps(value, default=repr, separators=(",", ":"))


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """JSON lines (or console lines) on stderr at ``level``, for slamon and the libraries.

    slamon's own events are filtered and rendered by structlog alone (a breach storm
    logs a line per breach: going through stdlib logging cost ~4x as much a line); the
    libraries' stdlib records go through a handler that renders them the same way.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(allow=["repeated"]),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # filtered in the bound logger: a debug line below the level costs a no-op call
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        logger_factory=_stderr_lines,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
