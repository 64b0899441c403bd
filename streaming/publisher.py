"""Publishing: accepted updates go to their plots' viewers at once, before they are committed;
the annotations stream lines made, once the commit that stored them is done.

One channel-layer message per plot per pass of the publisher (a chunk of ten lines is one
message), split above PUBLISH_MAX_BYTES. A channel layer that is away costs the pass its
updates, never ingest its pace: viewers get what was lost from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from base import metrics
from base.rate_limited_log import RateLimitedLog
from core.annotation_drawing import AnnotationData
from streaming import events
from streaming.events import StreamUpdate

# One channel-layer message carries at most about this many bytes of updates (one line more):
# a larger pass of the publisher is split, never one giant message.
PUBLISH_MAX_BYTES = 1 << 20

log = logging.getLogger("plotserver.streaming")


@dataclass
class OutboxBatch:
    """Updates for one channel-layer message of a plot, and the bytes of the lines they came from."""

    updates: list[StreamUpdate] = field(default_factory=list)
    size: int = 0


def _batches(pending: list[tuple[StreamUpdate, int]], limit: int) -> list[OutboxBatch]:
    """A plot's pending updates in messages: a message takes updates until its lines reach `limit` bytes."""
    batches: list[OutboxBatch] = []
    for message, size in pending:
        if not batches or batches[-1].size >= limit:
            batches.append(OutboxBatch())
        batches[-1].updates.append(message)
        batches[-1].size += size
    return batches


class Publisher:
    """Hands accepted updates to the channel layer, group of their plot, in passes.

    `on_sent` is called as each message's bytes leave the outbox, so that readers held back by
    it may read again.
    """

    def __init__(self, on_sent: Callable[[], None]) -> None:
        self._on_sent = on_sent
        # Per plot, the updates for its next channel-layer messages, each with the bytes of its line.
        self._outbox: dict[int, list[tuple[StreamUpdate, int]]] = defaultdict(list)
        self.outbox_bytes = 0
        # Per plot, the annotations commits stored since the last pass (bounded by
        # ANNOTATIONS_PER_PLOT a plot: only stored ones come here).
        self._annotations: dict[int, list[AnnotationData]] = defaultdict(list)
        self._publish = asyncio.Event()
        self._published = asyncio.Event()
        self._published.set()
        self._failures = RateLimitedLog(log)

    def add(self, plot_id: int, message: StreamUpdate, size: int) -> None:
        """One plot's update, from a line of `size` bytes, for the next pass (see `wake`)."""
        self._outbox[plot_id].append((message, size))
        self.outbox_bytes += size

    def add_annotations(self, by_plot: dict[int, list[AnnotationData]]) -> None:
        """Annotations a commit stored, per plot: told to the plots' viewers in the next pass."""
        for plot_id, made in by_plot.items():
            self._annotations[plot_id] += made
        self.wake()

    def wake(self) -> None:
        """Updates were added: run a pass."""
        self._published.clear()
        self._publish.set()

    async def run(self) -> None:
        """The publish loop."""
        while True:
            await self._publish.wait()
            self._publish.clear()
            outbox, self._outbox = self._outbox, defaultdict(list)
            announced, self._annotations = self._annotations, defaultdict(list)
            limit, timeout = PUBLISH_MAX_BYTES, settings.CHANNEL_LAYER_TIMEOUT
            failed = False
            for plot_id, pending in outbox.items():
                # Split above PUBLISH_MAX_BYTES: never one giant message.
                for batch in _batches(pending, limit):
                    if not failed:
                        failed = not await self._send(plot_id, events.publish_updates(plot_id, batch.updates), timeout)
                    # After a failure the channel layer is away: the rest of the pass is let go
                    # at once rather than a timeout each, so that an outage never slows ingest.
                    # Viewers get what was lost from the database (their relay's repair, or the
                    # gap the next update shows them; annotations come with the next snapshot).
                    self.outbox_bytes -= batch.size
                    self._on_sent()
            for plot_id, stored in announced.items():
                if not failed:
                    failed = not await self._send(plot_id, events.publish_annotations(plot_id, stored), timeout)
            if not self._outbox and not self._annotations:
                self._published.set()

    async def _send(self, plot_id: int, sending: Coroutine[Any, Any, None], timeout: float) -> bool:
        """One channel-layer message of a plot; False (counted, logged once an interval) when the
        channel layer failed it."""
        try:
            # asyncio.timeout, not wait_for: no task of its own for each message.
            with metrics.PUBLISH_SECONDS.time():
                async with asyncio.timeout(timeout):
                    await sending
            return True
        except Exception:
            # A channel layer that is away fails every publish: one line per interval.
            self._failures.warning("publish", f"could not publish to plot {plot_id}", exc_info=True)
            metrics.PUBLISH_FAILURES.inc()
            return False

    async def published(self) -> None:
        """Wait until every update added so far was handed to the channel layer."""
        await self._published.wait()
