"""A timeout on one awaitable that never loses a cancellation from outside.

On Python 3.11, `asyncio.wait_for(aw, t)` loses a cancellation that arrives just as `aw` ends: it
returns `aw`'s result instead of raising CancelledError, and a task in a loop then never stops
when cancelled (tests/test_relay_tasks_end_when_cancelled.py). `asyncio.timeout` keeps such a
cancellation: it only turns its own into TimeoutError. The project times its awaits with
`within` (or with an `async with asyncio.timeout(t):` block); ruff bans `asyncio.wait_for`.

`within(aw, t)` otherwise behaves as `wait_for` did: TimeoutError when `t` seconds pass,
`t=None` waits without a limit, and `t <= 0` returns the result of an awaitable already done
and otherwise raises TimeoutError without starting it (a coroutine is closed, a future is
cancelled: `within(asyncio.shield(x), t)` leaves `x` going on after the timeout, as before).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(aw: Awaitable[T], seconds: float | None) -> T:
    """Await `aw`, raising TimeoutError after `seconds` (None: no limit)."""
    if seconds is not None and seconds <= 0:
        return _now_or_never(aw)
    async with asyncio.timeout(seconds):
        return await aw


def _now_or_never(aw: Awaitable[T]) -> T:
    if asyncio.iscoroutine(aw):
        aw.close()
        raise TimeoutError
    future = asyncio.ensure_future(aw)
    if future.done():
        return future.result()
    future.cancel()
    raise TimeoutError
