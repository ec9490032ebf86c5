"""Structured logs: JSON lines via structlog, stdlib logging (Faust, aiokafka) routed through it.

Log fields carry ticket ids and counts, never customer data (regions, tiers, names).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

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
        if not isinstance(record.msg, str):  # structlog's own events: each one different
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


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(allow=["repeated"]),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # filter first: a debug line below the level costs a method call, not the chain
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
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
