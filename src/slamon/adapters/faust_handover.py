"""Each fetched record reaches its stream's buffer without four tasks of its own.

Faust's fetch loop (``Consumer._drain_messages``) hands every record to the stream with
``await self.wait_first(callback(message), self.suspend_flow.wait())``: mode's
``wait_first`` wraps the callback, the flow-suspension wait and the consumer's stopped
and crashed events in a task each, races them with ``asyncio.wait`` and cancels the
losers. The callback nearly always finishes without waiting (the buffer has room), so
that machinery was most of Faust's own cost a record (4.6 tasks and 3.3 event-loop turns
a record in a profile of the worker; docs/benchmarks.md). Here the callback runs one step
in place first: finished, it is done; if it has to wait (a full buffer), it goes on in a
task raced exactly as Faust races it, so a flow suspension still cuts the wait short.
The loop still yields every 100 records, as Faust's own loop does.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import faust.transport.consumer
from mode.services import WaitResults

from slamon.adapters.private_api import patch_once


def records_handed_over_in_place() -> None:
    """Install the fast path on Faust's consumer (idempotent)."""
    patch_once(faust.transport.consumer.Consumer, "wait_first", _wrap)


def _wrap(wait_first: Callable[..., Awaitable[WaitResults]]) -> Any:
    async def wait_first_in_place(self: Any, *coros: Any, timeout: Any = None) -> WaitResults:
        if not _handover(self, coros, timeout):
            return await wait_first(self, *coros, timeout=timeout)
        callback, suspended = coros
        try:
            yielded = callback.send(None)
        except StopIteration as done:
            suspended.close()  # never awaited: nothing to race
            return WaitResults([callback], [done.value], False)
        except BaseException:
            suspended.close()
            raise
        return await wait_first(self, _resuming(callback, yielded), suspended, timeout=timeout)

    return wait_first_in_place


def _handover(consumer: Any, coros: tuple[Any, ...], timeout: Any) -> bool:
    """The fetch loop's call (a record's callback and the suspension wait), flow running."""
    return (
        len(coros) == 2
        and timeout is None
        and inspect.iscoroutine(coros[0])
        and inspect.iscoroutine(coros[1])
        and not consumer.suspend_flow.is_set()
        and not consumer._stopped.is_set()
        and not consumer._crashed.is_set()
    )


async def _resuming(coro: Any, yielded: Any) -> Any:
    """``coro`` from its first wait on, as a coroutine (mode races only awaitables)."""
    return await _resumed(coro, yielded)


@types.coroutine
def _resumed(coro: Any, yielded: Any) -> Generator[Any, Any, Any]:
    """Drive ``coro`` on from its first wait: ``yielded`` is what it handed its caller (a
    future to wait on, or None for a bare yield), passed to the task now running it."""
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # cancellation included: the callback cleans up
            try:
                yielded = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as done:
                return done.value
