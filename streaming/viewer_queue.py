"""A viewer's send queue: frames on their way to its socket, bounded in bytes, sent one at a time.

A viewer whose queue would outgrow VIEWER_SEND_QUEUE_BYTES loses it (streaming/viewer.py then
sends it a fresh snapshot); `stuck_since` says since when its socket has not taken the frame in
flight, for the relay's watchdog (VIEWER_SEND_TIMEOUT).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from base.asgi_types import WebSocketSend
from streaming.relay import Frame


class SendQueue:
    """The frames queued for one viewer's socket, and the loop that writes them."""

    def __init__(self, send: WebSocketSend, limit: int) -> None:
        self.send = send
        self.limit = limit
        self.frames: deque[Frame] = deque()
        self.size = 0
        self.wake = asyncio.Event()
        self.stuck_since: float | None = None

    def fits(self, frame: Frame) -> bool:
        """Whether `frame` may join the queue without outgrowing its limit (an empty queue takes any frame)."""
        return not self.frames or self.size + frame.size <= self.limit

    def put(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.size += frame.size
        self.wake.set()

    def clear(self) -> None:
        self.frames.clear()
        self.size = 0

    async def write_loop(self, when_empty: Callable[[], bool]) -> None:
        """Send queued frames one at a time. When none is left, `when_empty()` says whether to
        wait for more (False: the socket is to close); the loop ends when the client went away."""
        loop = asyncio.get_running_loop()
        while True:
            if not self.frames:
                if not when_empty():
                    return
                self.wake.clear()
                await self.wake.wait()
                continue
            frame = self.frames.popleft()
            self.size -= frame.size
            self.stuck_since = loop.time()
            try:
                await self.send({"type": "websocket.send", "text": frame.text})
            except Exception:
                return  # the client went away; the reader sees it too
            self.stuck_since = None
