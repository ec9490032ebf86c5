"""What a rebuild or a catch-up builds is kept out of the cyclic collector's sight.

A worker holds up to millions of long-lived objects (tickets and their events). CPython's
collector walks every tracked object at each full collection, and Faust calls
``gc.collect()`` once per table at every rebalance: with a million tickets that is seconds
each, the event loop blocked meanwhile (alerts late, health pages silent). While tickets
are built in bulk the collector is off, and every slice of the build is collected once and
frozen (``gc.freeze``): a later full collection walks only what was allocated since.
Frozen objects are still freed by reference counting when dropped; only a reference cycle
among them would never be collected, and tickets and events form none.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def building() -> Iterator[None]:
    """No automatic collection inside (each would walk the growing build again); call
    :func:`settle` between slices. Settled at the end, the collector as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        settle()
        if enabled:
            gc.enable()


def settle() -> None:
    """Collect what was allocated since the last settle, then freeze what survives."""
    gc.collect()
    gc.freeze()
