"""The per-process hub of open streams: group commit, fan-out and cross-process control.

Every open stream in the process hands its accepted lines to the hub. Once per batch interval
the hub commits all of them in one transaction (streaming/store.py) on its own database
thread, then sends each plot's viewers one message with every update of that batch. So a
point costs neither a transaction, nor a channel-layer message, nor a thread hop of its own.

The hub also owns the process's control channel, through which other processes (or this one)
take over a token's stream, revoke it, or confirm that an old stream has let go.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone

from streaming import events, store
from streaming.protocol import Update

if TYPE_CHECKING:
    from streaming.ingest import StreamSession

log = logging.getLogger("plotserver.streaming")

# Lines waiting for a commit beyond which readers stop reading (TCP flow control then
# slows the producer down instead of the process growing without bound).
MAX_BACKLOG = 100_000

# The errors that mean the database is away (retry until it is back). Anything else a commit
# raises is about the batch's content, and retrying that batch as it is would never succeed:
# it is split up instead, so that a bad value costs its own line and nothing else.
OUTAGE_ERRORS = (OperationalError, InterfaceError)


class StreamHub:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.interval = settings.STREAM_BATCH_INTERVAL
        self.channel_name = ""
        self._pending: dict[int, store.StreamBatch] = {}
        self._backlog = 0
        self._room = asyncio.Event()
        self._room.set()
        self._wake = asyncio.Event()
        self._committed = self.loop.create_future()
        self._sessions: dict[int, set[StreamSession]] = defaultdict(set)
        self._releases: dict[str, asyncio.Future] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotserver-store")
        self._tasks: list[asyncio.Task] = []
        self._inflight: asyncio.Future | None = None
        self.stopping = False
        self.started: asyncio.Future | None = None

    async def start(self) -> None:
        self.channel_name = await self.layer.new_channel("stream-hub.")
        self._tasks = [
            asyncio.create_task(self._commit_loop(), name="plotserver-commit"),
            asyncio.create_task(self._control_loop(), name="plotserver-control"),
            asyncio.create_task(self._lease_loop(), name="plotserver-leases"),
        ]

    # -- accepting lines -------------------------------------------------------------

    def submit(
        self, token_id: int, update: Update | None = None, error: tuple[int, str] | None = None
    ) -> asyncio.Future:
        """Queue an accepted update or a rejected line; return the future of its commit."""
        batch = self._pending.get(token_id)
        if batch is None:
            batch = self._pending[token_id] = store.StreamBatch(token_id)
        if update is not None:
            batch.updates.append(update)
        if error is not None:
            batch.rejected += 1
            batch.last_error = (error[0], error[1], timezone.now())
        self._backlog += 1
        if self._backlog >= MAX_BACKLOG:
            self._room.clear()
        self._wake.set()
        return self._committed

    async def room(self) -> None:
        """Wait while the commit backlog is full."""
        await self._room.wait()

    async def _commit_loop(self) -> None:
        started = 0.0
        while True:
            await self._wake.wait()
            # One commit per interval at most: lines wait for the rest of the interval, not
            # for a whole interval after a slow commit.
            await asyncio.sleep(max(0.0, started + self.interval - self.loop.time()))
            started = self.loop.time()
            self._wake.clear()
            batches, self._pending = list(self._pending.values()), {}
            # One clock reading a batch, not one a line: "last write" is exact to the interval.
            now = timezone.now()
            for batch in batches:
                batch.last_write_at = now
            done, self._committed = self._committed, self.loop.create_future()
            self._inflight = done
            outgoing = await self._commit(batches)
            log.debug("committed %d streams in %.1f ms", len(batches), (self.loop.time() - started) * 1000)
            self._backlog = sum(len(b.updates) + b.rejected for b in self._pending.values())
            self._room.set()
            for plot_id, updates in outgoing.items():
                try:
                    await events.publish_updates(plot_id, updates)
                except Exception:
                    log.exception("could not publish %d updates to plot %s", len(updates), plot_id)
            done.set_result(None)

    async def _commit(self, batches: list[store.StreamBatch]) -> dict:
        """Commit, retrying while the database is away: accepted lines are never dropped.

        A batch the database refuses for its content (not for being away) is stored stream by
        stream, then update by update, so that one bad value cannot hold up everyone else.
        """
        try:
            return await self._commit_retrying(batches)
        except Exception:
            log.exception("the database refused a batch of %d streams; storing them one by one", len(batches))
            return await self._commit_apart(batches)

    async def _commit_retrying(self, batches: list[store.StreamBatch]) -> dict:
        delay = 0.1
        while True:
            try:
                return await self.loop.run_in_executor(self._executor, _commit_in_thread, batches)
            except OUTAGE_ERRORS:
                log.exception("could not commit a batch of %d streams; retrying in %.1fs", len(batches), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _commit_apart(self, batches: list[store.StreamBatch]) -> dict:
        outgoing: dict[int, list] = defaultdict(list)

        async def commit(batch: store.StreamBatch) -> bool:
            try:
                committed = await self._commit_retrying([batch])
            except Exception:
                return False
            for plot_id, updates in committed.items():
                outgoing[plot_id].extend(updates)
            return True

        for batch in batches:
            if await commit(batch):
                continue
            counts = store.StreamBatch(batch.token_id, [], batch.rejected, batch.last_error, batch.last_write_at)
            for update in batch.updates:
                if not await commit(store.StreamBatch(batch.token_id, [update])):
                    log.error("stream %s: the database refused an update; it is counted as rejected", batch.token_id)
                    counts.rejected += 1
                    counts.last_error = (None, "the database could not store this line", timezone.now())
            await commit(counts)
        return outgoing

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed and published."""
        if self._inflight is not None and not self._inflight.done():
            await asyncio.shield(self._inflight)
        if self._pending:
            await asyncio.shield(self._committed)

    async def run_sync(self, function, *args):
        """Run a small database call on the hub's thread, in order with the commits."""
        return await self.loop.run_in_executor(self._executor, _in_thread, function, args)

    # -- sessions and control ----------------------------------------------------------

    async def register(self, session: StreamSession) -> None:
        sessions = self._sessions[session.token_id]
        if not sessions:
            await self.layer.group_add(events.stream_group(session.token_id), self.channel_name)
        sessions.add(session)

    async def unregister(self, session: StreamSession) -> None:
        sessions = self._sessions[session.token_id]
        sessions.discard(session)
        if not sessions:
            del self._sessions[session.token_id]
            await self.layer.group_discard(events.stream_group(session.token_id), self.channel_name)

    async def take_over(self, token_id: int, session_id: str) -> bool:
        """Ask whoever holds the token's stream to let go; True once it has."""
        released = self._releases[session_id] = self.loop.create_future()
        try:
            await events.request_takeover(token_id, session_id, self.channel_name)
            await asyncio.wait_for(released, settings.STREAM_TAKEOVER_TIMEOUT)
            return True
        except TimeoutError:
            return False
        finally:
            self._releases.pop(session_id, None)

    async def _control_loop(self) -> None:
        while True:
            message = await self.layer.receive(self.channel_name)
            kind = message.get("type")
            if kind == "stream.takeover":
                for session in list(self._sessions.get(message["token_id"], ())):
                    if session.session_id != message["by"]:
                        session.kick(409, taken_over_by=(message["by"], message["reply_to"]))
            elif kind == "stream.revoke":
                for session in list(self._sessions.get(message["token_id"], ())):
                    session.kick(410)
            elif kind == "stream.released":
                future = self._releases.get(message["by"])
                if future is not None and not future.done():
                    future.set_result(None)

    def end_streams(self) -> list[StreamSession]:
        """Answer every open stream 503 "reconnect" (each commits what it accepted first), and
        every stream that opens from now on."""
        self.stopping = True
        sessions = [s for group in self._sessions.values() for s in group]
        for session in sessions:
            session.kick(503)
        return sessions

    async def _lease_loop(self) -> None:
        period = store.LEASE.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            held = [s.session_id for group in self._sessions.values() for s in group]
            if held:
                try:
                    await self.run_sync(store.renew_leases, held)
                except Exception:
                    log.exception("could not renew the leases of %d streams", len(held))

    async def shutdown(self) -> None:
        """End every open stream, wait for their last commits, then stop."""
        sessions = self.end_streams()
        if sessions:
            await asyncio.wait([asyncio.ensure_future(s.closed.wait()) for s in sessions], timeout=10)
        await self.flush()
        for task in self._tasks:
            task.cancel()
        await self.run_sync(connections.close_all)
        self._executor.shutdown(wait=True)


def _commit_in_thread(batches: list[store.StreamBatch]) -> dict:
    close_old_connections()
    return store.commit_batch(batches)


def _in_thread(function, args):
    close_old_connections()
    return function(*args)


_hub: StreamHub | None = None


async def get_hub() -> StreamHub:
    """The hub of this process (of this event loop: tests run several loops in turn)."""
    global _hub
    if _hub is None or _hub.loop is not asyncio.get_running_loop():
        _hub = StreamHub()
        _hub.started = asyncio.ensure_future(_hub.start())
    await _hub.started
    return _hub
