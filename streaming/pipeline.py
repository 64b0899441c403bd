"""The per-process pipeline of open streams: number, publish at once, commit back to back.

Each open stream has a writer (streaming/stream_state.py) that numbers an accepted update and
applies it to its windows in memory. The update goes to its plots' viewers at once, in one
channel-layer message per plot per pass of the publisher (a chunk of ten lines is one
message), and into the stream's pending chunk. The commit loop stores every pending chunk in
one transaction (streaming/store.py) on its own database thread; the next commit begins as
soon as the last ends, with whatever arrived meanwhile (group commit). No fixed interval, no
transaction, message or thread hop per point.

The pipeline also owns the process's control channel, through which other processes (or this
one) take over a token's stream, revoke it, or confirm that an old stream has let go.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone

from base import metrics
from base.rate_limited_log import RateLimitedLog
from core.protocol import Update
from streaming import events, leases, store
from streaming.events import StreamUpdate
from streaming.store import Loaded
from streaming.stream_state import Chunk, StreamWriter

if TYPE_CHECKING:
    from streaming.ingest import StreamSession

Args = TypeVarTuple("Args")
T = TypeVar("T")

log = logging.getLogger("plotserver.streaming")

# Lines waiting for a commit beyond which readers stop reading (TCP flow control then
# slows the producer down instead of the process growing without bound); their bytes are
# bounded too, by STREAM_BACKLOG_BYTES.
MAX_BACKLOG = 100_000

# A fast stream's windows are folded into their checkpoint once its rows since the last hold
# four windows' worth of values, and at least this many (docs/streaming.md, "Durability"). At
# 4,000 values (four 500-point windows of x and y) ingest spent 5 µs a point more than at
# 8,000 (bench (e), paired runs, docs/performance.md).
CHECKPOINT_MIN_VALUES = 8_000

# The errors that mean the database is away (retry until it is back). Anything else a commit
# raises is about the batch's content, and retrying that batch as it is would never succeed:
# it is split up instead, so that a bad value costs its own line and nothing else.
OUTAGE_ERRORS = (OperationalError, InterfaceError)


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


class Abandoned(Exception):
    """The process stops and the database did not come back in time: what is not stored yet
    will never be, and its producers were told so (not acknowledged)."""


class Pipeline:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = events.channel_layer()
        self.channel_name = ""
        self._dirty: dict[StreamWriter, None] = {}
        self._backlog = 0
        self._backlog_bytes = 0
        self._outbox_bytes = 0
        self._room = asyncio.Event()
        self._room.set()
        self._wake = asyncio.Event()
        self._committed: asyncio.Future[None] = self.loop.create_future()
        self._inflight: asyncio.Future[None] | None = None
        # Per plot, the updates for its next channel-layer messages, each with the bytes of its line.
        self._outbox: dict[int, list[tuple[StreamUpdate, int]]] = defaultdict(list)
        self._publish = asyncio.Event()
        self._published = asyncio.Event()
        self._published.set()
        self._sessions: dict[int, set[StreamSession]] = defaultdict(set)
        self._releases: dict[str, asyncio.Future[None]] = {}
        # Runs asked of another process's stream (start_run), by request id: (number, first seq).
        self._runs: dict[str, asyncio.Future[tuple[int, int]]] = {}
        self._run_tasks: set[asyncio.Task[None]] = set()
        self._checkpointed: dict[StreamWriter, tuple[float, int, int]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotserver-store")
        self._tasks: list[asyncio.Task[None]] = []
        self._failures = RateLimitedLog(log)
        # Tokens whose stream group this process could not join (the channel layer was away):
        # joined again by the lease loop; meanwhile the database re-check stands in for it.
        self._unjoined: set[int] = set()
        self.stopping = False
        self._stop_deadline = 0.0
        self.abandoned = False
        self._attempt_ended = asyncio.Event()
        self._attempt_ended.set()
        self.started: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.channel_name = await self.layer.new_channel("stream-hub.")
        self._tasks = [
            asyncio.create_task(self._commit_loop(), name="plotserver-commit"),
            asyncio.create_task(self._publish_loop(), name="plotserver-publish"),
            asyncio.create_task(self._control_loop(), name="plotserver-control"),
            asyncio.create_task(self._lease_loop(), name="plotserver-leases"),
        ]

    # -- writers -----------------------------------------------------------------------

    async def open_writer(self, token_id: int, skip: bool = False) -> StreamWriter | None:
        """Load a token's writer (position and windows); `skip` after a writer that crashed."""
        return await self.run_sync(store.load_stream, token_id, timezone.now(), skip)

    def submit(self, writer: StreamWriter, update: Update, size: int = 0) -> asyncio.Future[None]:
        """Number and apply an accepted update (`size` bytes as sent), send it to viewers; return
        its commit's future."""
        # Per line, nothing reads a setting (a Django setting costs about a microsecond): the
        # publisher splits the outbox into messages, and room() checks the limits.
        for plot_id, message in writer.accept(update):
            self._outbox[plot_id].append((message, size))
            self._outbox_bytes += size
        if writer.by_plot:
            self._published.clear()
            self._publish.set()
        self._backlog_bytes += size
        return self._queue(writer)

    def reject(self, writer: StreamWriter, line: int, reason: str) -> asyncio.Future[None]:
        """Count a rejected line; return the future of the commit that stores the count."""
        writer.reject(line, reason, timezone.now())
        return self._queue(writer)

    def close_writer(self, writer: StreamWriter) -> asyncio.Future[None]:
        """The stream ended: its last commit also checkpoints its windows."""
        writer.closing = True
        return self._queue(writer)

    def _queue(self, writer: StreamWriter) -> asyncio.Future[None]:
        self._dirty[writer] = None
        self._backlog += 1
        self._wake.set()
        return self._committed

    def _check_room(self) -> None:
        full = (
            self._backlog >= MAX_BACKLOG
            or self._backlog_bytes >= settings.STREAM_BACKLOG_BYTES
            or self._outbox_bytes >= settings.STREAM_PUBLISH_BACKLOG_BYTES
        )
        if full and self._room.is_set():
            metrics.LIMIT_HITS.labels("backpressure").inc()
            self._room.clear()
        elif not full and not self._room.is_set():
            self._room.set()

    async def room(self) -> None:
        """Wait while the commit backlog or the publisher's is full (checked here, once a read,
        not once a line)."""
        self._check_room()
        await self._room.wait()

    # -- publishing ----------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        while True:
            await self._publish.wait()
            self._publish.clear()
            outbox, self._outbox = self._outbox, defaultdict(list)
            limit, timeout = settings.STREAM_PUBLISH_MAX_BYTES, settings.CHANNEL_LAYER_TIMEOUT
            failed = False
            for plot_id, pending in outbox.items():
                # Split above STREAM_PUBLISH_MAX_BYTES: never one giant message.
                for batch in _batches(pending, limit):
                    if not failed:
                        failed = not await self._publish_batch(plot_id, batch, timeout)
                    # After a failure the channel layer is away: the rest of the pass is let go
                    # at once rather than a timeout each, so that an outage never slows ingest.
                    # Viewers get what was lost from the database (their relay's repair, or the
                    # gap the next update shows them).
                    self._outbox_bytes -= batch.size
                    self._check_room()
            if not self._outbox:
                self._published.set()

    async def _publish_batch(self, plot_id: int, batch: OutboxBatch, timeout: float) -> bool:
        try:
            # asyncio.timeout, not wait_for: no task of its own for each message.
            with metrics.PUBLISH_SECONDS.time():
                async with asyncio.timeout(timeout):
                    await events.publish_updates(plot_id, batch.updates)
            return True
        except Exception:
            # A channel layer that is away fails every publish: one line per interval.
            self._failures.warning("publish", f"could not publish updates to plot {plot_id}", exc_info=True)
            return False

    async def published(self) -> None:
        """Wait until every accepted update so far was handed to the channel layer."""
        await self._published.wait()

    # -- committing ----------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = self.loop.time()
            now = timezone.now()
            writers, self._dirty = list(self._dirty), {}
            chunks: list[tuple[StreamWriter, Chunk]] = []
            for writer in writers:
                chunk = writer.take_chunk(now)
                if chunk is not None:
                    chunk.checkpoint = chunk.checkpoint or self._checkpoint_due(writer, chunk)
                    chunks.append((writer, chunk))
            done, self._committed = self._committed, self.loop.create_future()
            self._inflight = done
            self._backlog = 0
            self._backlog_bytes = 0
            self._check_room()
            try:
                reloads = await self._commit([chunk for _, chunk in chunks], now)
            except Abandoned:
                lines = sum(chunk.accepted for _, chunk in chunks)
                if lines:
                    log.error("stopping: %d lines were not stored (their producers were told)", lines)
                done.set_result(None)
                continue
            # Counted once a commit, never once a line.
            lines = sum(chunk.accepted for _, chunk in chunks)
            metrics.LINES_ACCEPTED.inc(lines)
            metrics.BATCH_LINES.observe(lines + sum(chunk.rejected for _, chunk in chunks))
            metrics.BATCH_COMMIT_SECONDS.observe(self.loop.time() - started)
            for writer, chunk in chunks:
                writer.committed_seq = max(writer.committed_seq, chunk.last_seq)
                if chunk.checkpoint or writer.token_id in reloads:
                    self._checkpointed[writer] = (self.loop.time(), 0, 0)
                if writer.token_id in reloads:
                    writer.reload(*reloads[writer.token_id])
                if writer.closing:
                    self._checkpointed.pop(writer, None)
            log.debug("committed %d streams in %.1f ms", len(chunks), (self.loop.time() - started) * 1000)
            done.set_result(None)

    def _checkpoint_due(self, writer: StreamWriter, chunk: Chunk) -> bool:
        at, rows, values = self._checkpointed.setdefault(writer, (self.loop.time(), 0, 0))
        rows, values = rows + 1, values + chunk.values
        self._checkpointed[writer] = (at, rows, values)
        # A few windows' worth of values (what catch-up keeps anyway), and at least
        # CHECKPOINT_MIN_VALUES: a fold has a fixed part (its queries, the window read, hashed
        # and written: milliseconds) that small windows must spread over enough points, and
        # reading a window replays at most that many values of rows.
        window = max(4 * sum(t.maxpoints for t in writer.traces), CHECKPOINT_MIN_VALUES)
        return (
            rows >= settings.STREAM_CHECKPOINT_ROWS
            or values > window
            or self.loop.time() - at >= settings.STREAM_CHECKPOINT_INTERVAL
        )

    async def _commit(self, chunks: list[Chunk], now: datetime) -> dict[int, Loaded]:
        """Commit, retrying while the database is away: accepted lines are never dropped.

        Chunks the database refuses for their content (not for being away) are stored one by
        one, then update by update, so that one bad value cannot hold up everyone else. A
        stream that lost an update that way reloads its windows from what was stored.
        """
        try:
            return await self._commit_retrying(chunks, now)
        except Abandoned:
            raise
        except Exception:
            log.exception("the database refused a commit of %d streams; storing them one by one", len(chunks))
        reloads: dict[int, Loaded] = {}
        for chunk in chunks:
            try:
                reloads.update(await self._commit_retrying([chunk], now))
                continue
            except Exception:
                pass
            *pieces, counts = chunk.split()
            for piece in pieces:
                try:
                    reloads.update(await self._commit_retrying([piece], now))
                except Exception:
                    log.error("stream %s: the database refused an update; it is counted as rejected", chunk.token_id)
                    counts.rejected += 1
                    counts.last_error = (None, "the database could not store this line", timezone.now())
                    counts.signature = ()  # the writer's windows hold the refused update: reload them
            try:
                reloads.update(await self._commit_retrying([counts], now))
            except Exception:
                log.exception("stream %s: its counts could not be stored", chunk.token_id)
        return reloads

    async def _commit_retrying(self, chunks: list[Chunk], now: datetime) -> dict[int, Loaded]:
        delay = 0.1
        while True:
            if self.abandoned:
                raise Abandoned
            self._attempt_ended.clear()
            try:
                return await self.loop.run_in_executor(self._executor, _in_thread, store.commit_chunks, (chunks, now))
            except OUTAGE_ERRORS:
                self._failures.warning(
                    "commit", f"could not commit {len(chunks)} streams; retrying in {delay:.1f}s", exc_info=True
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                self._attempt_ended.set()

    async def abandon(self) -> None:
        """Stopping, and the database is away past STREAM_SHUTDOWN_TIMEOUT: make no further
        attempt, and wait for the one in flight (bounded by DATABASE_CONNECT_TIMEOUT), so that
        each writer's committed_seq says exactly what was stored."""
        self.abandoned = True
        await self._attempt_ended.wait()

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        if self._inflight is not None and not self._inflight.done():
            await asyncio.shield(self._inflight)
        if self._dirty:
            await asyncio.shield(self._committed)

    async def run_sync(self, function: Callable[[*Args], T], *args: *Args) -> T:
        """Run a small database call on the pipeline's thread, in order with the commits."""
        return await self.loop.run_in_executor(self._executor, _in_thread, function, args)

    # -- sessions and control ----------------------------------------------------------

    async def register(self, session: StreamSession) -> None:
        sessions = self._sessions[session.token_id]
        sessions.add(session)
        if len(sessions) == 1:
            await self._join(session.token_id)

    async def _join(self, token_id: int) -> None:
        try:
            await self._layer_call(self.layer.group_add(events.stream_group(token_id), self.channel_name))
            self._unjoined.discard(token_id)
        except Exception:
            # The stream goes on: takeover and revocation reach it by the lease loop's re-check.
            self._unjoined.add(token_id)
            self._failures.warning("join", "the channel layer is away: a stream's control falls back to the database")

    async def unregister(self, session: StreamSession) -> None:
        sessions = self._sessions[session.token_id]
        sessions.discard(session)
        if not sessions:
            del self._sessions[session.token_id]
            self._unjoined.discard(session.token_id)
            try:
                await self._layer_call(
                    self.layer.group_discard(events.stream_group(session.token_id), self.channel_name)
                )
            except Exception:
                self._failures.warning("leave", "the channel layer is away: could not leave a stream's group")

    async def _layer_call(self, call: Awaitable[T]) -> T:
        """One channel-layer call, given CHANNEL_LAYER_TIMEOUT to answer."""
        return await asyncio.wait_for(call, settings.CHANNEL_LAYER_TIMEOUT)

    async def take_over(self, token_id: int, session_id: str) -> bool:
        """Ask whoever holds the token's stream to let go; True once it has.

        The new connection holds the token's row already (leases.mark_connected). A holder in
        this process is told directly; one elsewhere by message, and if the message cannot go
        (the channel layer is away), by its own lease loop, which sees within a few seconds that
        the row names another holder. False then: numbering jumps as after a crash."""
        released = self._releases[session_id] = self.loop.create_future()
        try:
            local = [s for s in self._sessions.get(token_id, ()) if s.session_id != session_id and s.holding]
            if local:
                for session in local:
                    session.kick(409, taken_over_by=(session_id, self.channel_name))
            else:
                await self._layer_call(events.request_takeover(token_id, session_id, self.channel_name))
            await asyncio.wait_for(released, settings.STREAM_TAKEOVER_TIMEOUT)
            return True
        except TimeoutError:
            return False
        except Exception:
            self._failures.warning("takeover", "the channel layer is away: the old stream ends by its lease check")
            return False
        finally:
            self._releases.pop(session_id, None)

    async def confirm_released(self, reply_to: str, by: str) -> None:
        """Tell the connection that took over (`by`, waiting on channel `reply_to`) that the old
        stream let go; directly when it waits in this process."""
        if reply_to == self.channel_name:
            future = self._releases.get(by)
            if future is not None and not future.done():
                future.set_result(None)
            return
        try:
            await self._layer_call(events.confirm_released(reply_to, by))
        except Exception:
            self._failures.warning("release", "the channel layer is away: a takeover's confirmation was not sent")

    def holding_session(self, token_id: int) -> StreamSession | None:
        """This process's open stream of the token, if it holds it."""
        return next((s for s in self._sessions.get(token_id, ()) if s.holding and s.kicked is None), None)

    async def ask_holder_to_start_run(self, token_id: int, name: str) -> tuple[int, int]:
        """Have the process holding the token's stream start a run as its next update; the run's
        number and first sequence number once stored. TimeoutError past RUN_START_TIMEOUT."""
        request = uuid.uuid4().hex
        started: asyncio.Future[tuple[int, int]] = self.loop.create_future()
        self._runs[request] = started
        try:
            async with asyncio.timeout(settings.RUN_START_TIMEOUT):
                await events.request_run(token_id, name, request, self.channel_name)
                return await started
        finally:
            self._runs.pop(request, None)

    async def _start_run_asked(self, message: dict[str, Any]) -> None:
        session = self.holding_session(message["token_id"])
        if session is None:  # it ended meanwhile: the asking request times out and says so
            return
        number, first_seq = await session.start_run(message["name"])
        try:
            await self._layer_call(events.confirm_run(message["reply_to"], message["request"], number, first_seq))
        except Exception:
            self._failures.warning("run", "the channel layer is away: a started run was not confirmed")

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
            elif kind == "stream.run":
                task = asyncio.create_task(self._start_run_asked(message))
                self._run_tasks.add(task)
                task.add_done_callback(self._run_tasks.discard)
            elif kind == "stream.run_started":
                started = self._runs.get(message["request"])
                if started is not None and not started.done():
                    started.set_result((message["number"], message["first_seq"]))

    def shutdown_wait_left(self) -> float:
        """Seconds left of STREAM_SHUTDOWN_TIMEOUT since the server began stopping."""
        return max(0.0, self._stop_deadline - self.loop.time())

    def end_streams(self) -> list[StreamSession]:
        """Answer every open stream 503 "reconnect" (each commits what it accepted first), and
        every stream that opens from now on."""
        if not self.stopping:
            self._stop_deadline = self.loop.time() + settings.STREAM_SHUTDOWN_TIMEOUT
        self.stopping = True
        sessions = [s for group in self._sessions.values() for s in group]
        for session in sessions:
            session.kick(503)
        return sessions

    async def _lease_loop(self) -> None:
        """Every few seconds: renew the leases of the streams held here, and end those whose
        token was revoked, whether or not the revocation's message reached this process."""
        period = leases.LEASE.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            for token_id in list(self._unjoined):
                if token_id in self._sessions:
                    await self._join(token_id)
            holding = [s for group in self._sessions.values() for s in group if s.holding]
            if not holding:
                continue
            try:
                revoked, lost = await self.run_sync(
                    leases.renew_leases, [s.session_id for s in holding], {s.token_id for s in holding}
                )
            except Exception:
                self._failures.warning("lease", f"could not renew the leases of {len(holding)} streams", exc_info=True)
                continue
            for session in holding:
                if session.token_id in revoked:
                    session.kick(410)
                elif session.session_id in lost and session.holding:
                    session.kick(409)  # a newer connection holds the row: its message was lost

    async def shutdown(self) -> None:
        """End every open stream, wait for their last commits, then stop."""
        sessions = self.end_streams()
        if sessions:
            await asyncio.wait(
                [asyncio.ensure_future(s.closed.wait()) for s in sessions], timeout=self.shutdown_wait_left() + 5
            )
        try:
            await asyncio.wait_for(self.flush(), self.shutdown_wait_left())
        except TimeoutError:
            await self.abandon()
        await self.published()
        for task in self._tasks:
            task.cancel()
        await self.run_sync(connections.close_all)
        self._executor.shutdown(wait=True)


def _in_thread(function: Callable[[*Args], T], args: tuple[*Args]) -> T:
    # The store's thread keeps the connection it took from the pool for as long as it works
    # (requests give theirs back after each one): commits never queue behind requests for a
    # connection. One that failed is given back, and the next query takes another.
    for connection in connections.all(initialized_only=True):
        connection.close_at = None
        connection.close_if_unusable_or_obsolete()
    return function(*args)


_pipeline: Pipeline | None = None


async def get_pipeline() -> Pipeline:
    """The pipeline of this process (of this event loop: tests run several loops in turn)."""
    global _pipeline
    if _pipeline is None or _pipeline.loop is not asyncio.get_running_loop():
        _pipeline = Pipeline()
        _pipeline.started = asyncio.ensure_future(_pipeline.start())
    assert _pipeline.started is not None
    await _pipeline.started
    return _pipeline
