"""A channel layer of one process that answers every call at once.

The tests that cancel a loop at each of its steps (tests/test_*_end_when_cancelled.py) run it
on this layer, so that the loop passes through its timed calls as fast as it can.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any


class LoopbackLayer:
    """Groups and channels in memory; no call waits for anything but a message to receive."""

    def __init__(self) -> None:
        self.groups: dict[str, set[str]] = defaultdict(set)
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)

    async def new_channel(self, prefix: str = "") -> str:
        return f"{prefix}loopback"

    async def group_add(self, group: str, channel: str) -> None:
        self.groups[group].add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.groups[group].discard(channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        for channel in self.groups[group]:
            self.queues[channel].put_nowait(message)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        self.queues[channel].put_nowait(message)

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self.queues[channel].get()
