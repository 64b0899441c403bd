"""A stream's pace: at most STREAM_TOKEN_RATE trace updates a second, in bursts of STREAM_TOKEN_BURST.

Past it, the stream waits between lines, so that one large read cannot hold the process either;
the producer is slowed by TCP flow control, nothing is refused or lost.
"""

from __future__ import annotations

import asyncio

from django.conf import settings

from base import metrics


class TokenBucket:
    """The trace updates a stream may still send at once (its budget), refilled at STREAM_TOKEN_RATE."""

    def __init__(self) -> None:
        self.budget = settings.STREAM_TOKEN_BURST
        self._budget_at = asyncio.get_running_loop().time()
        self._throttled_at = -1e9

    async def refill(self) -> None:
        """The budget ran out: refill it for the time passed, and wait until it is back to zero."""
        rate, burst = settings.STREAM_TOKEN_RATE, settings.STREAM_TOKEN_BURST
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.budget = min(burst, self.budget + (now - self._budget_at) * rate)
        self._budget_at = now
        if self.budget >= 0:
            return
        if loop.time() - self._throttled_at > 10:  # counted once per episode, not per wait
            metrics.LIMIT_HITS.labels("token_rate").inc()
        self._throttled_at = now
        await asyncio.sleep(-self.budget / rate)
