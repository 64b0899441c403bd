"""The viewer socket, `/ws/plots/<id>/`: a snapshot first, then every update, in sequence order.

The messages are documented in docs/websocket.md. Live data reaches a viewer through this
process's relay (streaming/relay.py), already encoded: in the common case a viewer only checks
that a batch starts right after the sequence numbers it holds and queues the shared frame.

Every viewer has a send queue bounded in bytes (VIEWER_SEND_QUEUE_BYTES). A viewer that cannot
keep up loses its queue and, once its socket has taken what was in flight, gets a fresh snapshot
holding every update it lost; one whose socket takes nothing for VIEWER_SEND_TIMEOUT seconds is
closed with code 4408. Either way the producer and the other viewers never wait for it.

Updates are published before they are committed, so a snapshot or catch-up read from the
database may be behind the live updates that follow it: a viewer holds those live updates
(within the same byte bound) and reads again until the database covers the gap, for at most
VIEWER_GAP_TIMEOUT seconds, and never shows the browser a gap or a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, NotRequired
from urllib.parse import parse_qs

import orjson
from asgiref.typing import ASGIReceiveCallable, WebSocketScope
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from base import metrics
from base.asgi_types import WebSocketSend
from base.timeouts import within
from streaming.events import StreamUpdate
from streaming.relay import Frame, UpdateBatch, encode, get_relay
from streaming.snapshots import Visitor
from streaming.viewer_held import HeldUpdates
from streaming.viewer_messages import Annotations, CatchUp, Error, Snapshot, Updates, as_updates
from streaming.viewer_queue import SendQueue
from streaming.viewer_sync import FIRST, GAP, RESYNC, SINCE, SNAPSHOT, ViewerSync

log = logging.getLogger("plotserver.streaming")

# Close codes (documented in docs/websocket.md).
CLOSE_NOT_SHARED = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_DELETED = 4410
# Seconds a close (or the message before it) may take to go out: past them the socket is dropped
# without one.
CLOSE_TIMEOUT = 15

NOT_SHARED: Error = {"type": "error", "status": 404, "message": "no such plot, or not shared with you"}
DELETED: Error = {"type": "error", "status": 410, "message": "the plot was deleted"}


class ViewerScope(WebSocketScope):
    """The socket's scope as Channels' auth middleware and URL router hand it on."""

    url_route: dict[str, Any]
    user: NotRequired[Visitor]  # absent without the auth middleware: an anonymous visitor


class ViewerSocket:
    """One viewer's position, and what it does with live data, the client's requests and what
    its sync read (streaming/viewer_sync.py): its held updates (streaming/viewer_held.py) and its
    send queue (streaming/viewer_queue.py). Driven by the relay (live data), by its sync task
    (database reads) and by its write task (the socket)."""

    def __init__(self, scope: ViewerScope, send: WebSocketSend) -> None:
        self.loop = asyncio.get_running_loop()
        self.plot_id = int(scope["url_route"]["kwargs"]["plot_id"])
        self.user: Visitor = scope["user"] if "user" in scope else AnonymousUser()
        query = parse_qs(scope.get("query_string", b"").decode())
        self.share_key = query["share_key"][0] if "share_key" in query else None
        self.wants_presence = "presence" in query and query["presence"][0] == "1"
        self.since = query["since"][0] if "since" in query else None
        self.limit = settings.VIEWER_SEND_QUEUE_BYTES

        self.seqs: dict[str, int] = {}  # stream -> the last seq this viewer holds
        self.revision: int | None = None
        # Live: relayed updates go to the send queue. Otherwise a sync is under way and they
        # are held (bounded) until it ends.
        self.live = False
        self.held = HeldUpdates(self.limit)
        # Dropping: the send queue overflowed; nothing is kept until the socket has taken what
        # was in flight, then the viewer gets a fresh snapshot.
        self.dropping = False
        self.queue = SendQueue(send, self.limit)
        self.close_code: int | None = None

        self.sync = ViewerSync(self)
        self.write_task: asyncio.Task[None] | None = None
        self.last_resync = float("-inf")
        self.resync_timer: asyncio.TimerHandle | None = None

    # -- from the relay: live data ---------------------------------------------------------

    def on_updates(self, batch: UpdateBatch) -> None:
        if self.close_code is not None:
            return
        if self.dropping:
            self.held.let_go(batch.lasts)
            return
        if not self.live:
            self.held.hold((batch.items, batch), batch.frame.size)
            return
        if batch.contiguous and self._follows(batch):
            # The common case: the shared frame, as it is.
            self.seqs.update(batch.lasts)
            self._queue(batch.frame)
            return
        fresh: list[StreamUpdate] = []
        for position, (key, seq, update) in enumerate(batch.items):
            have = self.seqs.get(key)
            if have is not None and seq <= have:
                continue  # its snapshot already held this one
            if have is None or seq != have + 1:
                # A hole: the updates before it were published but are not in what this viewer
                # read from the database yet. What follows waits until they are.
                self._queue_updates(fresh)
                self.live = False
                self.held.hold((batch.items[position:], None), batch.frame.size)
                self.sync.start(GAP)
                return
            self.seqs[key] = seq
            fresh.append(update)
        self._queue_updates(fresh)

    def on_presence(self, frame: Frame) -> None:
        if not self.wants_presence or self.close_code is not None or self.dropping:
            return
        if self.live:
            self._queue(frame)
        else:
            self.held.hold(frame, frame.size)

    def on_annotation(self, frame: Frame) -> None:
        """An annotation was stored or deleted. Held like presence while a sync runs: one its
        snapshot holds already comes again, and drawing it twice (by id) changes nothing."""
        if self.close_code is not None or self.dropping:
            return  # a viewer that is dropping gets a snapshot anyway, annotations included
        if self.live:
            self._queue(frame)
        else:
            self.held.hold(frame, frame.size)

    def on_plot_changed(self) -> None:
        if self.close_code is not None or self.dropping:
            return  # a viewer that is dropping gets a snapshot anyway
        self.live = False
        self.sync.start(SNAPSHOT)

    def _follows(self, batch: UpdateBatch) -> bool:
        seqs = self.seqs
        return all(seqs.get(key) == first - 1 for key, first in batch.firsts.items())

    # -- from the client -------------------------------------------------------------------

    async def read_loop(self, receive: ASGIReceiveCallable) -> None:
        async for content in client_messages(receive):
            if content.get("type") == "resync":
                self.request_resync()

    def request_resync(self) -> None:
        """At most one snapshot per VIEWER_RESYNC_INTERVAL: requests within it share the next one."""
        if self.resync_timer is not None:
            return
        wait = self.last_resync + settings.VIEWER_RESYNC_INTERVAL - self.loop.time()
        if wait > 0:
            self.resync_timer = self.loop.call_later(wait, self._resync_now)
        else:
            self._resync_now()

    def _resync_now(self) -> None:
        self.resync_timer = None
        self.last_resync = self.loop.time()
        if self.close_code is None and not self.dropping:
            self.live = False
            self.sync.start(SNAPSHOT)

    # -- getting in step: database reads (streaming/viewer_sync.py) --------------------------

    def begin(self) -> None:
        self.sync.start(FIRST if self.since is None else SINCE)

    def adopt(self, message: Snapshot | CatchUp, mode: str, position: dict[str, int]) -> None:
        """Send what was read (by the sync), then what was held after it, and go live."""
        if message["type"] == "snapshot":
            self.revision = message["revision"]
            self._queue(Frame(*encode(message)))
        elif mode == SINCE:
            assert self.since is not None
            self.revision = orjson.loads(self.since).get("revision")
            self._queue(Frame(*encode(as_updates(message))))
            # Annotations are not in the replayed rows: the viewer gets them whole, when there are
            # any now or it held some (`since` says how many), so that a deleted one goes too.
            had = orjson.loads(self.since).get("annotations")
            now = message.get("annotations", [])
            if now or (isinstance(had, int) and had > 0):
                annotations: Annotations = {"type": "annotations", "annotations": now}
                self._queue(Frame(*encode(annotations)))
        elif message["updates"]:
            self._queue_updates(message["updates"])
        self.seqs = dict(position)
        held = self.held.take()
        dropped = 0
        for entry in held:
            if isinstance(entry, Frame):
                self._queue(entry)
                continue
            items, batch = entry
            if batch is not None and batch.contiguous and self._follows(batch):
                self.seqs.update(batch.lasts)
                self._queue(batch.frame)
                continue
            fresh: list[StreamUpdate] = []
            for key, seq, update in items:
                have = self.seqs.get(key)
                if have is not None and seq <= have:
                    continue
                if have is None or seq != have + 1:
                    dropped += 1  # only after VIEWER_GAP_TIMEOUT: the next update asks again
                    continue
                self.seqs[key] = seq
                fresh.append(update)
            self._queue_updates(fresh)
        if dropped:
            log.warning("viewer of plot %s: left out %d updates that skip ahead", self.plot_id, dropped)
        if not self.dropping and self.close_code is None:
            self.live = True

    # -- to the socket ---------------------------------------------------------------------

    def _queue_updates(self, updates: list[StreamUpdate]) -> None:
        if updates:
            message: Updates = {"type": "updates", "updates": updates}
            self._queue(Frame(*encode(message)))

    def _queue(self, frame: Frame) -> None:
        if self.dropping or self.close_code is not None:
            return
        if not self.queue.fits(frame):
            self._fall_behind()
            return
        self.queue.put(frame)

    def _fall_behind(self) -> None:
        metrics.RELAY_QUEUE_DROPS.inc()
        log.info("viewer of plot %s fell %d bytes behind: it gets a snapshot once it reads", self.plot_id, self.limit)
        self.held.let_go_all()
        self.queue.clear()
        self.live = False
        self.dropping = True
        self.queue.wake.set()

    async def write_loop(self) -> None:
        """Send queued frames one at a time; after an overflow, a snapshot once it has drained."""
        await self.queue.write_loop(self._drained)

    def _drained(self) -> bool:
        """The queue is empty: False when the socket is to close; after an overflow, the sync
        that brings the fresh snapshot."""
        if self.close_code is not None:
            return False
        if self.dropping:
            self.dropping = False
            self.held.let_go(self.seqs)  # what it had queued went with the queue
            self.sync.start(RESYNC)
        return True

    def close_not_shared(self) -> None:
        """Tell the viewer it may not see the plot, then close with 4404."""
        self._queue(Frame(*encode(NOT_SHARED)))
        self.close(CLOSE_NOT_SHARED)

    def close_deleted(self) -> None:
        """Tell a viewer of the plot that it was deleted, then close with 4410."""
        self._queue(Frame(*encode(DELETED)))
        self.close(CLOSE_DELETED)

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self.queue.wake.set()

    def give_up(self) -> None:
        """Its socket took nothing for VIEWER_SEND_TIMEOUT seconds: close it, whatever is queued."""
        if self.close_code is None:
            log.warning(
                "viewer of plot %s took nothing for %ss: closing it with %d",
                self.plot_id,
                settings.VIEWER_SEND_TIMEOUT,
                CLOSE_TOO_SLOW,
            )
        self.close_code = CLOSE_TOO_SLOW
        self.queue.clear()
        if self.write_task is not None:
            self.write_task.cancel()

    def stop(self) -> None:
        self.sync.cancel()
        if self.write_task is not None:
            # Let go of the task: a cancelled one keeps its traceback, and with it the message it
            # was sending (a snapshot of megabytes), for as long as the task is referenced; the
            # close that follows may wait on a stuck socket until it is dropped.
            self.write_task.cancel()
            self.write_task = None
        if self.resync_timer is not None:
            self.resync_timer.cancel()
        self.held.entries.clear()
        self.queue.clear()


async def client_messages(receive: ASGIReceiveCallable) -> AsyncIterator[dict[str, Any]]:
    """What a viewer's client sends, each a JSON object, until it disconnects; anything else it
    sends (not JSON, not an object) is passed over."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["type"] != "websocket.receive":
            continue
        try:
            content = orjson.loads(message.get("text") or message.get("bytes") or b"")
        except orjson.JSONDecodeError:
            continue
        if isinstance(content, dict):
            yield content


class PlotViewerConsumer:
    """The ASGI app of the viewer socket (behind Channels' auth middleware and URL router).

    Not a Channels consumer: live data comes from the relay, not through the channel layer
    once per viewer, and nothing on its path hops to a thread.
    """

    @classmethod
    def as_asgi(cls) -> PlotViewerConsumer:
        return cls()

    async def __call__(self, scope: ViewerScope, receive: ASGIReceiveCallable, send: WebSocketSend) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        metrics.VIEWERS.inc()
        try:
            await self.serve(scope, receive, send)
        finally:
            metrics.VIEWERS.dec()

    async def serve(self, scope: ViewerScope, receive: ASGIReceiveCallable, send: WebSocketSend) -> None:
        viewer = ViewerSocket(scope, send)
        relay = await get_relay()
        # Join first: what is published while the first read runs is held, not missed.
        await relay.join(viewer.plot_id, viewer)
        viewer.write_task = asyncio.create_task(viewer.write_loop())
        reader = asyncio.create_task(viewer.read_loop(receive))
        try:
            viewer.begin()
            await asyncio.wait({viewer.write_task, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            client_left = reader.done()
            await relay.leave(viewer.plot_id, viewer)
            viewer.stop()
            reader.cancel()
        if viewer.close_code is not None and not client_left:
            try:
                await within(send({"type": "websocket.close", "code": viewer.close_code}), CLOSE_TIMEOUT)
            except Exception:
                log.debug("viewer of plot %s: the close did not go through", viewer.plot_id)
