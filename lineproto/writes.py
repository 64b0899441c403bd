"""A write's points into the one ingest core: each series' lines fed to its token's stream.

The core does the rest as for any producer's stream (streaming/ingest.py): it parses each line,
applies it to the trace's window, numbers it, sends it to viewers, stores it, keeps history,
counts accepted and rejected lines on the token, and paces the token.

Opening a stream costs a few trips to the database (the token's hold, its windows) and ending
it a checkpoint, so a series' stream is not opened per write: this process holds it open
between writes, as a producer holds its stream, and ends it after LINEPROTO_SERIES_IDLE seconds
without a write (Telegraf writes every 10 s; a series written in every batch stays open). Writes
of one series take turns; a write is answered once its lines are stored. A newer connection to
the token (another process's write of the same series, or a producer) takes the stream over, as
for any stream; the next write here opens it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from base.timeouts import within
from streaming.answers import Outcome
from streaming.committer import OUTAGE_ERRORS
from streaming.ingest import StreamSession
from streaming.pipeline import get_pipeline

log = logging.getLogger("plotserver.lineproto")


@dataclass(slots=True)
class SeriesWrite:
    """One series' share of a write: its stream token, its stream lines, and the line of the body
    each came from (the write's line i is `body_lines[i - 1]`)."""

    token_id: int
    token: str
    lines: list[bytes]
    body_lines: list[int]


@dataclass(slots=True)
class SeriesOutcome:
    """What became of one series' lines: how many the core accepted, which it rejected (by their
    number in the write, from 1) and why, and whether all were taken and stored (status 200), or
    why not: 503 the server stopping, the database away or the write not stored within
    LINEPROTO_WRITE_TIMEOUT; another status when the stream ended first (`message` says why).
    `given`: the lines (and the door's reasons) were handed to the stream; a write that timed out
    before (waiting for the previous write's lines to be read, or for the stream to open) gave
    nothing, and its lines are the caller's still."""

    status: int = 200
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    taken: int = 0
    message: str = ""
    given: bool = False


async def stored(session: StreamSession) -> bool:
    """Wait until every update the session accepted so far is committed; False when they never
    will be (the server stopped with the database away)."""
    writer = session.writer
    assert writer is not None
    target = writer.seq
    await session.pipeline.flush()
    return writer.committed_seq >= target


def series_idle() -> float:
    """Seconds a series' stream stays open without a write: LINEPROTO_SERIES_IDLE, and never so
    long that the stream's own idle timeout (STREAM_IDLE_TIMEOUT, 408) ends it first."""
    return min(settings.LINEPROTO_SERIES_IDLE, settings.STREAM_IDLE_TIMEOUT / 2)


class SeriesSession(StreamSession):
    """A series' stream held open between writes: each rejected line is also told to the write
    it came from (`on_reject`, the line's number in the stream)."""

    on_reject: Callable[[int, str], None] | None = None

    def reject(self, reason: str) -> None:
        super().reject(reason)
        if self.on_reject is not None:
            self.on_reject(self.line_no, reason)

    def reject_unread(self, reason: str) -> None:
        """A line the door could not make a stream line of (an MQTT message it cannot read):
        numbered and counted on the token as the core counts the lines it rejects."""
        self.line_no += 1
        self.reject(reason)


class HeldSeries:
    """One series' stream as this process holds it: the session, the task that reads it, and the
    queue of writes' lines that task reads from."""

    def __init__(self, token_id: int, token: str) -> None:
        self.token_id = token_id
        self.token = token
        self.lock = asyncio.Lock()
        self.session: SeriesSession | None = None
        self.task: asyncio.Task[Outcome] | None = None
        # Each write's lines, with the future set once the stream has taken all of them.
        self.chunks: asyncio.Queue[tuple[bytes, asyncio.Future[None]] | None] = asyncio.Queue()
        self.feeding: asyncio.Future[None] | None = None
        self.ending = False
        self.idle: asyncio.TimerHandle | None = None
        # The stream's opening, run as a task of its own: a write that times out while it runs
        # leaves it to finish (cancelled half-way, a stream would stay registered and held).
        self.opening: asyncio.Task[SeriesSession | Outcome] | None = None

    async def read(self) -> bytes | None:
        """The stream's reader: asked again once every line of the last write was taken."""
        if self.feeding is not None and not self.feeding.done():
            self.feeding.set_result(None)
        chunk = await self.chunks.get()
        if chunk is None:
            return None
        data, self.feeding = chunk
        return data

    async def write(
        self, lines: list[bytes], remote_addr: str, unread: tuple[str, ...] = (), wait_stored: bool = True
    ) -> SeriesOutcome:
        """Give the stream `lines` and wait until they are stored (or, without `wait_stored`, only
        taken: accepted lines are stored by the core's group commit, as a producer's are).
        `unread`: why each of the door's lines that never became a stream line was rejected,
        counted before `lines`."""
        async with self.lock:
            if self.idle is not None:
                self.idle.cancel()
            outcome = SeriesOutcome()
            try:
                await within(
                    self._write(lines, remote_addr, outcome, unread, wait_stored), settings.LINEPROTO_WRITE_TIMEOUT
                )
            except TimeoutError:
                outcome.status = 503
                outcome.message = (
                    f"the write was not stored within LINEPROTO_WRITE_TIMEOUT ({settings.LINEPROTO_WRITE_TIMEOUT:g} s; "
                    "the database is away?): its lines taken may still be stored"
                )
            finally:
                if self.task is not None and not self.task.done():
                    self.idle = asyncio.get_running_loop().call_later(series_idle(), self._end_if_idle)
            return outcome

    async def _write(
        self, lines: list[bytes], remote_addr: str, outcome: SeriesOutcome, unread: tuple[str, ...], wait_stored: bool
    ) -> None:
        session = await self._session(remote_addr)
        if isinstance(session, Outcome):
            outcome.status, outcome.message = session.status, session.message
            return
        assert self.task is not None
        for reason in unread:
            session.reject_unread(reason)
        if not lines:
            outcome.given = True
            return
        first, accepted = session.line_no, session.accepted

        def rejected(line: int, reason: str) -> None:
            outcome.rejected.append((line - first, reason))

        session.on_reject = rejected
        taken = asyncio.get_running_loop().create_future()
        self.chunks.put_nowait((b"\n".join(lines) + b"\n", taken))
        outcome.given = True
        try:
            waits: set[asyncio.Future[Any]] = {taken, self.task}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            session.on_reject = None
            outcome.taken = session.line_no - first
            outcome.accepted = session.accepted - accepted
        if self.task.done():  # the stream ended (taken over, revoked, stopping): it stored what it took
            ended = self._ended()
            if outcome.taken < len(lines):
                outcome.status, outcome.message = ended.status, ended.message
            return
        if wait_stored and not await stored(session):
            outcome.status, outcome.message = 503, "the server stopped with the database away: the write was not stored"

    async def _session(self, remote_addr: str) -> SeriesSession | Outcome:
        """The series' open stream, opened when there is none (after the last one has ended)."""
        if self.task is not None and self.feeding is not None and not self.feeding.done():
            # A write that timed out is still being read (backpressure): its lines come first.
            waits: set[asyncio.Future[Any]] = {self.feeding, self.task}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if self.task is not None and not self.task.done() and not self.ending:
            assert self.session is not None
            return self.session
        if self.task is not None:
            await asyncio.wait({self.task})
            self._ended()
        if self.opening is None:
            self.opening = asyncio.create_task(self._open(remote_addr), name=f"lineproto-open-{self.token_id}")
        return await asyncio.shield(self.opening)

    async def _open(self, remote_addr: str) -> SeriesSession | Outcome:
        """Open the series' stream and start reading it; on its own task (see `opening`)."""
        try:
            opened = await SeriesSession.open(self.token, remote_addr)
        except OUTAGE_ERRORS:
            return Outcome(503, database_away=True)
        finally:
            self.opening = None  # the next write that finds no stream opens another
        if isinstance(opened, Outcome):
            return opened
        assert isinstance(opened, SeriesSession)
        self.session = opened
        self.chunks, self.feeding = asyncio.Queue(), None
        self.task = asyncio.create_task(opened.run(self.read), name=f"lineproto-series-{self.token_id}")
        self.task.add_done_callback(self._forget_if_idle)
        if not self.lock.locked():  # the write that asked for it gave up meanwhile
            self.idle = asyncio.get_running_loop().call_later(series_idle(), self._end_if_idle)
        return opened

    def _ended(self) -> Outcome:
        """The stream's end (its task done): forget the session; how it ended."""
        assert self.task is not None
        task, self.task, self.session, self.ending = self.task, None, None, False
        if task.cancelled():
            return Outcome(503)
        return task.result()

    def _end_if_idle(self) -> None:
        """No write for LINEPROTO_SERIES_IDLE seconds: end the stream (it stores and checkpoints)."""
        if self.lock.locked() or self.task is None or self.task.done():
            return
        self.ending = True
        self.chunks.put_nowait(None)

    def _forget_if_idle(self, task: asyncio.Task[Outcome]) -> None:
        if not self.lock.locked() and _held.get(self.token_id) is self:
            del _held[self.token_id]


# The series streams this process holds, by token id; for the event loop they were opened on
# (tests run several loops in turn).
_held: dict[int, HeldSeries] = {}
_held_loop: asyncio.AbstractEventLoop | None = None


def held_series(token_id: int, token: str) -> HeldSeries:
    global _held_loop
    loop = asyncio.get_running_loop()
    if _held_loop is not loop:
        _held.clear()
        _held_loop = loop
    held = _held.get(token_id)
    if held is None or held.token != token:
        held = _held[token_id] = HeldSeries(token_id, token)
    return held


async def write_all(writes: list[SeriesWrite], remote_addr: str) -> list[SeriesOutcome]:
    """Every series of a write at once (their streams are independent), once the process's
    pipeline runs."""
    await get_pipeline()
    results = await asyncio.gather(
        *(held_series(w.token_id, w.token).write(w.lines, remote_addr) for w in writes), return_exceptions=True
    )
    outcomes = []
    for write, result in zip(writes, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result  # cancelled: the request went
        if isinstance(result, Exception):
            # One series failing (a defect) is that series' alone: the others' outcomes stand.
            log.error("series stream %s failed", write.token_id, exc_info=result)
            result = SeriesOutcome(status=500, message="the server failed while storing this series")
        outcomes.append(result)
    return outcomes
