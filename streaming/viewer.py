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
from collections import deque
from typing import Any, NotRequired
from urllib.parse import parse_qs

import orjson
from asgiref.typing import ASGIReceiveCallable, WebSocketScope
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from base import metrics
from base.asgi_types import WebSocketSend
from streaming import snapshots
from streaming.events import StreamUpdate
from streaming.relay import Frame, UpdateBatch, encode, get_relay
from streaming.snapshots import Visitor
from streaming.viewer_messages import CatchUp, Error, Snapshot, Updates, as_updates

log = logging.getLogger("plotserver.streaming")

# Close codes (documented in docs/websocket.md).
CLOSE_NOT_SHARED = 4404
CLOSE_TOO_SLOW = 4408

NOT_SHARED: Error = {"type": "error", "status": 404, "message": "no such plot, or not shared with you"}

# How a viewer gets (back) in step: what it reads from the database.
FIRST = "first"  # a first visit: a snapshot
SINCE = "since"  # coming back with a position: the missed updates, or a snapshot marked resync
GAP = "gap"  # a live update came after a hole: the missing updates, or a snapshot marked resync
SNAPSHOT = "snapshot"  # asked for by the client, or the plot was edited
RESYNC = "resync"  # it fell behind and lost its queue: a snapshot marked resync


class ViewerScope(WebSocketScope):
    """The socket's scope as Channels' auth middleware and URL router hand it on."""

    url_route: dict[str, Any]
    user: NotRequired[Visitor]  # absent without the auth middleware: an anonymous visitor


# What a viewer holds while it gets in step: presence frames, and batches of live updates
# (the updates still to check, and the batch when it may still be taken whole).
HeldEntry = Frame | tuple[tuple[tuple[str, int, StreamUpdate], ...], UpdateBatch | None]


class ViewerSocket:
    """One viewer's position, held updates and send queue. Driven by the relay (live data),
    by its own sync task (database reads) and by its write task (the socket)."""

    def __init__(self, scope: ViewerScope, send: WebSocketSend) -> None:
        self.loop = asyncio.get_running_loop()
        self.send = send
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
        self.held: list[HeldEntry] = []
        self.held_bytes = 0
        self.held_overflowed = False
        # The last seq per stream of live updates this viewer let go (its queue or its held
        # updates overflowed): the snapshot that replaces them must cover them.
        self.let_go: dict[str, int] = {}
        # Dropping: the send queue overflowed; nothing is kept until the socket has taken what
        # was in flight, then the viewer gets a fresh snapshot.
        self.dropping = False
        self.outbox: deque[Frame] = deque()
        self.outbox_bytes = 0
        self.wake = asyncio.Event()
        self.stuck_since: float | None = None
        self.close_code: int | None = None

        self.sync_task: asyncio.Task[None] | None = None
        self.sync_again: str | None = None
        self.write_task: asyncio.Task[None] | None = None
        self.last_resync = float("-inf")
        self.resync_timer: asyncio.TimerHandle | None = None

    # -- from the relay: live data ---------------------------------------------------------

    def on_updates(self, batch: UpdateBatch) -> None:
        if self.close_code is not None:
            return
        if self.dropping:
            self._let_go(batch.lasts)
            return
        if not self.live:
            self._hold((batch.items, batch), batch.frame.size)
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
                self._hold((batch.items[position:], None), batch.frame.size)
                self._start_sync(GAP)
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
            self._hold(frame, frame.size)

    def on_plot_changed(self) -> None:
        if self.close_code is not None or self.dropping:
            return  # a viewer that is dropping gets a snapshot anyway
        self.live = False
        self._start_sync(SNAPSHOT)

    def _follows(self, batch: UpdateBatch) -> bool:
        seqs = self.seqs
        return all(seqs.get(key) == first - 1 for key, first in batch.firsts.items())

    def _hold(self, entry: HeldEntry, size: int) -> None:
        if not self.held_overflowed:
            self.held_bytes += size
            if self.held_bytes <= self.limit:
                self.held.append(entry)
                return
            # Too much arrived while its sync ran: the sync reads a newer snapshot instead.
            for held in self.held:
                self._let_go_held(held)
            self.held.clear()
            self.held_bytes = 0
            self.held_overflowed = True
        self._let_go_held(entry)

    def _let_go_held(self, entry: HeldEntry) -> None:
        if isinstance(entry, Frame):
            return
        items, batch = entry
        # A whole batch knows its last seqs already: no walk over its updates per viewer.
        self._let_go(batch.lasts if batch is not None else {key: seq for key, seq, _ in items})

    def _let_go(self, lasts: dict[str, int]) -> None:
        """Remember the newest updates dropped: updates are published before they are committed,
        so a snapshot read at once may not hold them yet, and nothing would bring them after."""
        let_go = self.let_go
        for key, seq in lasts.items():
            if seq > let_go.get(key, 0):
                let_go[key] = seq

    # -- from the client -------------------------------------------------------------------

    async def read_loop(self, receive: ASGIReceiveCallable) -> None:
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
            if isinstance(content, dict) and content.get("type") == "resync":
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
            self._start_sync(SNAPSHOT)

    # -- getting in step: database reads ---------------------------------------------------

    def begin(self) -> None:
        self._start_sync(FIRST if self.since is None else SINCE)

    def _start_sync(self, mode: str) -> None:
        if self.close_code is not None:
            return
        if self.sync_task is not None and not self.sync_task.done():
            self.sync_again = mode  # what it is reading may predate this: read again
            return
        self.sync_again = None
        self.sync_task = asyncio.create_task(self._sync(mode))

    async def _sync(self, mode: str) -> None:
        try:
            while True:
                self.sync_again = None
                await self._sync_once(mode)
                if self.sync_again is None or self.close_code is not None:
                    return
                mode = self.sync_again
        except Exception:
            # This viewer's alone: it is closed, the relay and the other viewers go on.
            log.exception("viewer of plot %s: could not get in step", self.plot_id)
            self.close(1011)

    async def _sync_once(self, mode: str) -> None:
        deadline = self.loop.time() + settings.VIEWER_GAP_TIMEOUT
        delay = 0.01
        while True:
            message = await self._read(mode)
            if self.sync_again is not None or self.dropping or self.close_code is not None:
                return
            if message is None:
                self.close_not_shared()
                return
            if self.held_overflowed:
                # Held updates were lost: only a snapshot read from now on can replace them.
                self.held_overflowed = False
                mode = RESYNC
                continue
            position = position_of(message)
            if self._covers(position):
                self._adopt(message, mode, position)
                return
            if self.loop.time() >= deadline:
                # They are not coming (their writer crashed before its commit): what is stored
                # is the truth now, sent as a snapshot marked resync.
                log.warning("viewer of plot %s: missing updates never came; sending what is stored", self.plot_id)
                message = await self._read(RESYNC)
                if self.sync_again is not None or self.dropping or self.close_code is not None:
                    return
                if message is None:
                    self.close_not_shared()
                    return
                self._adopt(message, RESYNC, position_of(message))
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def _read(self, mode: str) -> Snapshot | CatchUp | None:
        if mode == SINCE:
            assert self.since is not None  # SINCE: the viewer came with a position
            try:
                since = orjson.loads(self.since)
            except orjson.JSONDecodeError:
                since = {}
            since = since if isinstance(since, dict) else {}
            return await database_sync_to_async(snapshots.catch_up)(self.plot_id, self.user, self.share_key, since)
        if mode == GAP:
            since = {"revision": self.revision, "streams": dict(self.seqs)}
            return await database_sync_to_async(snapshots.catch_up)(self.plot_id, self.user, self.share_key, since)
        message = await database_sync_to_async(snapshots.snapshot)(self.plot_id, self.user, self.share_key)
        if message is not None and mode == RESYNC:
            message["resync"] = True
        return message

    def _covers(self, position: dict[str, int]) -> bool:
        """Whether `position` holds every update let go, and the held updates follow it without
        a hole."""
        if any(position.get(key, 0) < seq for key, seq in self.let_go.items()):
            return False
        seen: set[str] = set()
        for entry in self.held:
            if isinstance(entry, Frame):
                continue
            for key, seq, _ in entry[0]:
                if key in seen:
                    continue
                seen.add(key)
                have = position.get(key)
                if have is None or have < seq - 1:
                    return False
        return True

    def _adopt(self, message: Snapshot | CatchUp, mode: str, position: dict[str, int]) -> None:
        """Send what was read, then what was held after it, and go live."""
        if message["type"] == "snapshot":
            self.revision = message["revision"]
            self._queue(Frame(*encode(message)))
        elif mode == SINCE:
            assert self.since is not None
            self.revision = orjson.loads(self.since).get("revision")
            self._queue(Frame(*encode(as_updates(message))))
        elif message["updates"]:
            self._queue_updates(message["updates"])
        self.seqs = dict(position)
        self.let_go = {}
        held, self.held, self.held_bytes = self.held, [], 0
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
        if self.outbox and self.outbox_bytes + frame.size > self.limit:
            self._fall_behind()
            return
        self.outbox.append(frame)
        self.outbox_bytes += frame.size
        self.wake.set()

    def _fall_behind(self) -> None:
        metrics.RELAY_QUEUE_DROPS.inc()
        log.info("viewer of plot %s fell %d bytes behind: it gets a snapshot once it reads", self.plot_id, self.limit)
        for held in self.held:
            self._let_go_held(held)
        self.outbox.clear()
        self.outbox_bytes = 0
        self.held.clear()
        self.held_bytes = 0
        self.live = False
        self.dropping = True
        self.wake.set()

    async def write_loop(self) -> None:
        """Send queued frames one at a time; after an overflow, a snapshot once it has drained."""
        while True:
            if not self.outbox:
                if self.close_code is not None:
                    return
                if self.dropping:
                    self.dropping = False
                    self._let_go(self.seqs)  # what it had queued went with the queue
                    self._start_sync(RESYNC)
                self.wake.clear()
                await self.wake.wait()
                continue
            frame = self.outbox.popleft()
            self.outbox_bytes -= frame.size
            self.stuck_since = self.loop.time()
            try:
                await self.send({"type": "websocket.send", "text": frame.text})
            except Exception:
                return  # the client went away; the reader sees it too
            self.stuck_since = None

    def close_not_shared(self) -> None:
        """Tell the viewer it may not see the plot, then close with 4404."""
        self._queue(Frame(*encode(NOT_SHARED)))
        self.close(CLOSE_NOT_SHARED)

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self.wake.set()

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
        self.outbox.clear()
        self.outbox_bytes = 0
        if self.write_task is not None:
            self.write_task.cancel()

    def stop(self) -> None:
        for task in (self.sync_task, self.write_task):
            if task is not None:
                task.cancel()
        if self.resync_timer is not None:
            self.resync_timer.cancel()
        self.held.clear()
        self.outbox.clear()


def position_of(message: Snapshot | CatchUp) -> dict[str, int]:
    """The seq per stream that a snapshot or catch-up leaves its viewer holding."""
    if message["type"] == "snapshot":
        return {key: info["seq"] for key, info in message["streams"].items()}
    return {str(key): seq for key, seq in message["streams"].items()}


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
                await asyncio.wait_for(send({"type": "websocket.close", "code": viewer.close_code}), 15)
            except Exception:
                log.debug("viewer of plot %s: the close did not go through", viewer.plot_id)
