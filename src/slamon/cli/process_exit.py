"""Leaving the process without tearing a replay's objects down one by one.

A replay holds millions of objects to its end (events, tickets, folds, outcomes).
Freeing them when the command returns gives the user nothing and took ~9% of `slamon
replay` on the storm log (docs/benchmarks.md). A command that built such a result hands
it to :func:`keep`; :func:`run`, the `slamon` entry point, then leaves with ``os._exit``
once Click is done (its output files closed), after flushing stdout and stderr. Called
any other way (tests invoke the Click group itself), :func:`keep` keeps nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

import click

_kept: list[object] = []
_armed = False


def keep(*objects: object) -> None:
    """Keep ``objects`` alive to the end of the process, which then skips freeing them."""
    if _armed:
        _kept.extend(objects)


def run(group: click.Command) -> NoReturn:
    """Run the CLI as the `slamon` script does; without teardown if a command kept a result."""
    global _armed  # noqa: PLW0603  (one switch for the process: set by the entry point)
    _armed = True
    try:
        group(prog_name="slamon")  # standalone mode: always ends in SystemExit
    except SystemExit as done:
        if not _kept:
            raise
        code = _status(done.code)
    else:  # pragma: no cover  (Click's standalone mode never returns)
        code = 0
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(code)


def _status(code: object) -> int:
    """The exit status ``SystemExit(code)`` gives: None 0, an int itself, else 1 (printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # noqa: T201  (what Python prints for SystemExit("..."))
    return 1
