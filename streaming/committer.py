"""Group commit: every pending chunk of this process's writers in one transaction, back to back.

The commit loop stores every pending chunk in one transaction (streaming/store.py) on its own
database thread; the next commit begins as soon as the last ends, with whatever arrived meanwhile.
No fixed interval, no transaction or thread hop per point. Small database calls of the pipeline
(`run_sync`) run on the same thread, in order with the commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar, TypeVarTuple

from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone

from base import metrics
from base.rate_limited_log import RateLimitedLog
from core.annotation_drawing import AnnotationData
from streaming import store
from streaming.batch_watchers import tell_watchers
from streaming.stream_state import Chunk, StreamWriter, WriterView

Args = TypeVarTuple("Args")
T = TypeVar("T")

log = logging.getLogger("plotserver.streaming")

# Lines waiting for a commit beyond which readers stop reading (TCP flow control then
# slows the producer down instead of the process growing without bound); their bytes are
# bounded too, by STREAM_BACKLOG_BYTES.
MAX_BACKLOG = 100_000

# A fast stream's windows are folded into their checkpoint once its rows since the last hold
# four windows' worth of values, and at least this many (docs/streaming.md, "Durability"). Why
# not fewer: docs/performance.md, "Numbers behind the constants in the code".
CHECKPOINT_MIN_VALUES = 8_000

# The errors that mean the database is away (retry until it is back). Anything else a commit
# raises is about the batch's content, and retrying that batch as it is would never succeed:
# it is split up instead, so that a bad value costs its own line and nothing else.
OUTAGE_ERRORS = (OperationalError, InterfaceError)
# A streaming trace's window is checkpointed (its stored rows folded into Trace.spec) at its
# stream's end, and once this many seconds or stored commits have passed since its last
# checkpoint (docs/streaming.md; the numbers behind them: docs/performance.md).
CHECKPOINT_INTERVAL = 5.0
CHECKPOINT_ROWS = 500


class Abandoned(Exception):
    """The process stops and the database did not come back in time: what is not stored yet
    will never be, and its producers were told so (not acknowledged)."""


class Committer:
    """The back-to-back group commit of this process's writers, and its backlog.

    `on_backlog_emptied` is called when a commit takes the backlog, so that readers held back
    by it may read again.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_backlog_emptied: Callable[[], None],
        on_annotations: Callable[[dict[int, list[AnnotationData]]], None],
    ) -> None:
        self.loop = loop
        self._on_backlog_emptied = on_backlog_emptied
        self._on_annotations = on_annotations
        self._dirty: dict[StreamWriter, None] = {}
        # Changes (lines and rejections) and bytes waiting for the next commit.
        self.backlog = 0
        self.backlog_bytes = 0
        self._wake = asyncio.Event()
        self._committed: asyncio.Future[None] = loop.create_future()
        self._inflight: asyncio.Future[None] | None = None
        self._checkpointed: dict[StreamWriter, tuple[float, int, int]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotserver-store")
        self._failures = RateLimitedLog(log)
        self.abandoned = False
        self._attempt_ended = asyncio.Event()
        self._attempt_ended.set()

    def queue(self, writer: StreamWriter, size: int = 0) -> asyncio.Future[None]:
        """The writer changed (`size` bytes of lines): the future of the commit that stores it."""
        self.backlog_bytes += size
        self._dirty[writer] = None
        self.backlog += 1
        self._wake.set()
        return self._committed

    async def run(self) -> None:
        """The commit loop."""
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
            self.backlog = 0
            self.backlog_bytes = 0
            self._on_backlog_emptied()
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
            self._announce_annotations([chunk for _, chunk in chunks])
            tell_watchers([chunk for _, chunk in chunks], now)
            for writer, chunk in chunks:
                writer.committed_seq = max(writer.committed_seq, chunk.last_seq)
                if chunk.checkpoint or writer.token_id in reloads:
                    self._checkpointed[writer] = (self.loop.time(), 0, 0)
                if writer.token_id in reloads:
                    writer.reload(reloads[writer.token_id])
                elif chunk.annotation_counts is not None:
                    writer.recount(chunk.annotation_counts)
                if writer.closing:
                    self._checkpointed.pop(writer, None)
            log.debug("committed %d streams in %.1f ms", len(chunks), (self.loop.time() - started) * 1000)
            done.set_result(None)

    def _announce_annotations(self, chunks: list[Chunk]) -> None:
        """Hand the annotations the commit stored to the publisher (`on_annotations`), per plot."""
        by_plot: dict[int, list[AnnotationData]] = {}
        for chunk in chunks:
            for annotation in chunk.annotations:
                if annotation.stored is not None:
                    by_plot.setdefault(annotation.plot_id, []).append(annotation.stored)
        if by_plot:
            self._on_annotations(by_plot)

    def _checkpoint_due(self, writer: StreamWriter, chunk: Chunk) -> bool:
        at, rows, values = self._checkpointed.setdefault(writer, (self.loop.time(), 0, 0))
        rows, values = rows + 1, values + chunk.values
        self._checkpointed[writer] = (at, rows, values)
        # A few windows' worth of values (what catch-up keeps anyway), and at least
        # CHECKPOINT_MIN_VALUES: a fold has a fixed part (its queries, the window read, hashed
        # and written: milliseconds) that small windows must spread over enough points, and
        # reading a window replays at most that many values of rows.
        window = max(4 * sum(t.maxpoints for t in writer.traces), CHECKPOINT_MIN_VALUES)
        return rows >= CHECKPOINT_ROWS or values > window or self.loop.time() - at >= CHECKPOINT_INTERVAL

    async def _commit(self, chunks: list[Chunk], now: datetime) -> dict[int, WriterView]:
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
        reloads: dict[int, WriterView] = {}
        for chunk in chunks:
            try:
                reloads.update(await self._commit_retrying([chunk], now))
                continue
            except Abandoned:
                raise
            except Exception:
                pass
            *pieces, counts = chunk.split()
            for piece in pieces:
                try:
                    reloads.update(await self._commit_retrying([piece], now))
                except Abandoned:
                    raise
                except Exception:
                    log.error("stream %s: the database refused an update; it is counted as rejected", chunk.token_id)
                    counts.rejected += 1
                    counts.last_error = (None, "the database could not store this line", timezone.now())
                    counts.signature = ()  # the writer's windows hold the refused update: reload them
            try:
                reloads.update(await self._commit_retrying([counts], now))
            except Abandoned:
                raise
            except Exception:
                log.exception("stream %s: its counts could not be stored", chunk.token_id)
        return reloads

    async def _commit_retrying(self, chunks: list[Chunk], now: datetime) -> dict[int, WriterView]:
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
        """Wait until everything queued so far is committed.

        What is queued and not yet taken is stored by the commit that `_committed` stands for
        now (it follows the one in flight); with nothing queued, the one in flight is the last.
        Looking again once the one in flight ended would miss a commit that took the queue
        meanwhile (the loop takes it in the same step as it ends the last)."""
        if self._dirty:
            await asyncio.shield(self._committed)
        elif self._inflight is not None and not self._inflight.done():
            await asyncio.shield(self._inflight)

    async def run_sync(self, function: Callable[[*Args], T], *args: *Args) -> T:
        """Run a small database call on the commits' thread, in order with them."""
        return await self.loop.run_in_executor(self._executor, _in_thread, function, args)

    async def close(self) -> None:
        """Close the thread's database connections, then the thread."""
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
