"""`within(aw, t)` times an await as `asyncio.wait_for` did, but keeps a cancellation from outside."""

from __future__ import annotations

import asyncio

import pytest

from base.timeouts import within

LONG = 60  # seconds: never reached; a wait that ends sooner ends by what the test does


@pytest.mark.asyncio
async def test_within_returns_the_result_of_an_await_that_ends_in_time():
    assert await within(asyncio.sleep(0, "done"), LONG) == "done"


@pytest.mark.asyncio
async def test_within_raises_timeout_error_when_the_time_runs_out():
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.01)


@pytest.mark.asyncio
async def test_within_none_waits_without_a_limit():
    ended = asyncio.Event()
    waiting = asyncio.create_task(within(ended.wait(), None))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not waiting.done()
    ended.set()
    assert await asyncio.wait_for(waiting, LONG) is True


@pytest.mark.asyncio
async def test_within_no_time_left_neither_starts_a_coroutine_nor_waits():
    started = []

    async def work() -> None:
        started.append(True)

    for seconds in (0, -1):
        with pytest.raises(TimeoutError):
            await within(work(), seconds)
    assert not started


@pytest.mark.asyncio
async def test_within_no_time_left_still_gives_the_result_of_a_future_already_done():
    done = asyncio.get_running_loop().create_future()
    done.set_result(7)
    assert await within(done, 0) == 7


@pytest.mark.asyncio
async def test_within_a_shielded_await_goes_on_after_the_timeout():
    ended = asyncio.Event()
    work = asyncio.create_task(ended.wait())
    with pytest.raises(TimeoutError):
        await within(asyncio.shield(work), 0.01)
    with pytest.raises(TimeoutError):
        await within(asyncio.shield(work), 0)
    assert not work.done()
    ended.set()
    assert await asyncio.wait_for(work, LONG) is True


@pytest.mark.asyncio
async def test_within_keeps_a_cancellation_arriving_as_its_await_ends():
    async def at_once() -> str:
        await asyncio.sleep(0)
        return "done"

    async def loop_for_ever() -> None:
        while True:
            await within(at_once(), LONG)

    for step in range(100):
        task = asyncio.create_task(loop_for_ever())
        for _ in range(step):
            await asyncio.sleep(0)
        task.cancel()
        _, running = await asyncio.wait([task], timeout=10)
        assert not running, f"cancelled {step} steps after the start, the loop went on"
