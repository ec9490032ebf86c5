"""Fetched records reach the stream buffer in place, not through four tasks a record
(adapters/faust_handover.py)."""

from __future__ import annotations

import asyncio
import inspect
import warnings
from typing import Any

import faust.transport.consumer
import pytest
from mode import Service

from slamon.adapters.faust_handover import records_handed_over_in_place


class FetchLoop(Service):
    """What the patched ``wait_first`` reads of Faust's consumer: its events."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


@pytest.fixture
def wait_first() -> Any:
    records_handed_over_in_place()
    return faust.transport.consumer.Consumer.wait_first


def _tasks_created(loop: asyncio.AbstractEventLoop) -> list[int]:
    created = [0]
    factory = loop.get_task_factory()

    def count(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        created[0] += 1
        if factory is not None:
            return factory(loop, coro, **kwargs)  # type: ignore[return-value]
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(count)
    return created


@pytest.mark.asyncio
async def test_a_callback_that_never_waits_runs_in_place_with_no_task(wait_first: Any) -> None:
    """The common case: the buffer has room; no task, the suspension wait never started."""
    consumer = FetchLoop()
    handed: list[str] = []

    async def callback(message: str) -> str:
        handed.append(message)
        return "put"

    created = _tasks_created(asyncio.get_running_loop())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail
        results = await wait_first(consumer, callback("m1"), consumer.suspend_flow.wait())
    assert handed == ["m1"]
    assert results.results == ["put"]
    assert not results.stopped
    assert created[0] == 0


@pytest.mark.asyncio
async def test_a_callback_that_waits_goes_on_in_a_task_and_finishes(wait_first: Any) -> None:
    """A full buffer: the callback waits, then completes once room is made."""
    consumer = FetchLoop()
    room: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback() -> str:
        value = await room
        await asyncio.sleep(0)  # a bare yield after the first wait is driven on too
        return f"put after {value}"

    waiting = asyncio.ensure_future(wait_first(consumer, callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    room.set_result("room")
    results = await asyncio.wait_for(waiting, 1)
    assert results.results == ["put after room"]


@pytest.mark.asyncio
async def test_a_flow_suspension_cuts_a_waiting_callback_short(wait_first: Any) -> None:
    """As in Faust: suspended while the callback waits, the wait ends and the callback is
    cancelled (its clean-up runs), never left behind."""
    consumer = FetchLoop()
    cleaned: list[str] = []

    async def callback() -> None:
        try:
            await asyncio.get_running_loop().create_future()  # never resolved
        finally:
            cleaned.append("cancelled")

    waiting = asyncio.ensure_future(wait_first(consumer, callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    consumer.suspend_flow.set()
    await asyncio.wait_for(waiting, 1)
    await asyncio.sleep(0)
    assert cleaned == ["cancelled"]


@pytest.mark.asyncio
async def test_a_callback_error_reaches_the_fetch_loop(wait_first: Any) -> None:
    """An error in the first step propagates, as Faust's own race propagates it."""
    consumer = FetchLoop()

    async def callback() -> None:
        raise KeyError("no callback for this partition")

    with pytest.raises(KeyError):
        await wait_first(consumer, callback(), consumer.suspend_flow.wait())


@pytest.mark.asyncio
async def test_a_suspended_flow_or_other_calls_take_faust_s_own_path(wait_first: Any) -> None:
    """Flow suspended already: Faust's race (the suspension wins at once)."""
    consumer = FetchLoop()
    consumer.suspend_flow.set()
    ran: list[str] = []

    async def callback() -> None:
        await asyncio.sleep(0.5)
        ran.append("ran")

    results = await wait_first(consumer, callback(), consumer.suspend_flow.wait())
    assert len(results.results) == 1
    assert ran == []


def test_faust_still_hands_records_over_through_wait_first() -> None:
    """The patch is worth something only while Faust's fetch loop makes this call."""
    source = inspect.getsource(faust.transport.consumer.Consumer._drain_messages)
    assert "await self.wait_first(\n" in source
    assert "callback(message), self.suspend_flow.wait()" in source
    patched = faust.transport.consumer.Consumer.wait_first
    records_handed_over_in_place()
    assert faust.transport.consumer.Consumer.wait_first is patched  # idempotent
