"""The history job written once, as steps: a pass is a generator that yields each step (a
call without arguments, one short piece of database work) and is sent back its result.

The server runs the steps through the pipeline's database thread (`run_through`), so that live
commits run between them and never wait behind a whole pass; tests and tools run the very same
steps on their own thread (`run_here`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

T = TypeVar("T")
Step = Callable[[], Any]
Steps = Generator[Step, Any, T]


def run_here(steps: Steps[T]) -> T:
    """Run each step on this thread, one after the other; the pass's result."""
    try:
        step = next(steps)
        while True:
            step = steps.send(step())
    except StopIteration as done:
        return done.value


async def run_through(run_sync: Callable[[Step], Awaitable[Any]], steps: Steps[T]) -> T:
    """Run each step through `run_sync` (the pipeline's database thread), one after the other;
    the pass's result."""
    try:
        step = next(steps)
        while True:
            step = steps.send(await run_sync(step))
    except StopIteration as done:
        return done.value
