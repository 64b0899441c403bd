"""The ingest core: one open stream, whichever front door it came through.

A front door (the ASGI consumer on the main port, the stream listener on STREAM_PORT) parses
HTTP, then hands the body to a StreamSession through `pump(read)`. The session takes the
token's stream over (becoming its only writer), frames and parses lines, gives accepted updates
to the process's pipeline, enforces the idle timeout, obeys takeovers, revocation and shutdown,
and finally says which answer the producer gets (streaming/answers.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.utils import timezone

from base import metrics
from base.rate_limited_log import RateLimitedLog
from base.timeouts import within
from core.line_framing import LineFramer, TooLong
from core.producer_clock import ProducerClock
from core.protocol import LineRejected, Update, parse_line
from streaming import events, leases
from streaming.answers import UNBOUND_HINT, Outcome, Rejections
from streaming.committer import OUTAGE_ERRORS
from streaming.pipeline import Pipeline, get_pipeline
from streaming.resume import ResumeFrom, Resumption
from streaming.store import load_stream
from streaming.stream_state import StreamWriter
from streaming.token_rate import TokenBucket

log = logging.getLogger("plotserver.streaming")
_failures = RateLimitedLog(log)

# How long an ending stream waits for its last updates to be handed to the channel layer, so
# that viewers hear "idle" after them; past it, the producer gets its answer all the same.
PUBLISH_WAIT = 5.0


# The streams that end at a limit, for the metrics.
LIMITS_BY_STATUS = {408: "idle_timeout"}


class FramingError(Exception):
    """The front door could not read the request body (broken chunked encoding)."""


class ConnectionLost(Exception):
    """The producer went away: there is nobody left to answer."""


Reader = Callable[[], Awaitable["bytes | None"]]


async def read_body(read: Reader, feed: Callable[[bytes], Awaitable[None]], pipeline: Pipeline) -> int:
    """Read a stream's body to its end, each read handed to `feed`, under STREAM_IDLE_TIMEOUT and
    the process's backpressure; the status (200 the end, 408 idle, 400 a body the door could not
    read). At 200 the caller takes the framer's last line, if one came without its newline."""
    loop = asyncio.get_running_loop()
    idle = settings.STREAM_IDLE_TIMEOUT
    try:
        async with asyncio.timeout(idle) as deadline:
            while (data := await read()) is not None:
                # Waiting on the server (its backlog, a token's rate) is not the producer's
                # silence: the idle time counts from when reading resumes.
                deadline.reschedule(None)
                await feed(data)
                await pipeline.room()
                deadline.reschedule(loop.time() + idle)
        return 200
    except TimeoutError:
        return 408
    except FramingError:
        return 400


class StreamSession:
    """One open stream. Made by `open`, driven by `pump`, ended by `finish`."""

    def __init__(
        self, pipeline: Pipeline, token: leases.TokenState, remote_addr: str, clock: ProducerClock | None = None
    ) -> None:
        self.pipeline = pipeline
        self.writer: StreamWriter | None = None
        self.token_id = token.id
        self.remote_addr = remote_addr
        self.session_id = uuid.uuid4().hex
        self.framer = LineFramer(settings.STREAM_MAX_LINE_BYTES)
        self.line_no = 0
        self.accepted = 0
        self.rejections = Rejections()
        self.unbound = False
        self.started = 0.0
        self.kicked: int | None = None
        # True while this connection holds the token's row (leases.mark_connected to
        # mark_disconnected): only then can the lease renewal find it taken over.
        self.holding = False
        self.taken_over_by: tuple[str, str] | None = None
        self.plot_deleted = False
        self.closed = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self.pace = TokenBucket()
        self.clock = clock  # plotly-convertTimestamp: x in the producer's milliseconds, made dates
        # Told of a kick instead of the pump being cancelled: a connection of lines that name
        # their token, which feeds this session without its pump (streaming/token_lines.py).
        self.on_kick: Callable[[StreamSession], None] | None = None
        self.resumption: Resumption | None = None  # a request with the plotserver-resume header

    @classmethod
    async def open(
        cls,
        token: str,
        remote_addr: str,
        take_over: bool = True,
        clock: ProducerClock | None = None,
        resume: ResumeFrom | None = None,
    ) -> StreamSession | Outcome:
        """Check the token, take the stream over from any older connection, load its writer.
        With `take_over` false, leases.Held when a live connection holds the stream. `resume`:
        where the request starts in its producer's stream (streaming/resume.py)."""
        pipeline = await get_pipeline()
        if pipeline.stopping:
            return Outcome(503)
        state = await pipeline.run_sync(leases.find_token, token)
        if state is None or state.revoked:
            return Outcome(404)
        if state.plot_deleted:
            return Outcome(410, plot_deleted=True)
        session = cls(pipeline, state, remote_addr, clock)
        # Registered first, so that a takeover by an even newer connection, or a revocation,
        # reaches this one from here on.
        await pipeline.register(session)
        try:
            held = await pipeline.run_sync(_hold, state.id, session.session_id, remote_addr, take_over)
        except BaseException:  # leases.Held, or the database gone meanwhile
            await pipeline.unregister(session)
            raise
        if held is None:  # revoked while this connection was being set up
            await pipeline.unregister(session)
            return Outcome(404)
        previous, plot_ids, session.writer = held
        session.holding = True
        try:
            if previous:
                # The old writer stores everything it sent before it lets go; one that does not
                # answer crashed, and numbering jumps past whatever it may have sent unstored.
                handed_over = await pipeline.take_over(state.id, session.session_id)
                session.writer = await pipeline.open_writer(state.id, skip=not handed_over)
        except BaseException:
            session.holding = False
            await pipeline.run_sync(leases.mark_disconnected, state.id, session.session_id, False)
            await pipeline.unregister(session)
            raise
        if session.writer is None:  # deleted meanwhile
            session.holding = False
            await pipeline.unregister(session)
            return Outcome(404)
        if resume is not None:
            session.resumption = Resumption(resume, session.writer)
        metrics.STREAMS_OPEN.inc()  # from here on, finish() runs and counts the end
        session.unbound = not plot_ids
        session.started = asyncio.get_running_loop().time()
        log.info(
            "stream %s from %s started",
            state.id,
            remote_addr,
            extra={"event": "stream.start", "token_id": state.id, "remote_addr": remote_addr},
        )
        await announce_stream_state(plot_ids, state.id, connected=True)
        return session

    async def pump(self, read: Reader) -> int:
        """Read the body to its end, a kick, the idle timeout or an error; return the status."""
        if self.kicked is not None:
            return self.kicked
        self._pump_task = asyncio.current_task()
        try:
            status = await read_body(read, self._feed_paced, self.pipeline)
            if status == 200 and (rest := self.framer.finish()):
                self._take_line(rest)  # a last line without its newline
            return status
        except asyncio.CancelledError:
            if self.kicked is None:
                raise
            asyncio.current_task().uncancel()
            return self.kicked
        finally:
            self._pump_task = None

    async def _feed_paced(self, data: bytes) -> None:
        """Take every complete line of `data`, at the token's pace (streaming/token_rate.py): a
        line costs one trace update per trace bound to the token, at least one."""
        cost = self.line_cost()
        pace = self.pace
        budget = pace.budget
        for raw in self.framer.feed(data):
            self._take_line(raw)
            budget -= cost
            if budget < 0:
                pace.budget = budget
                await pace.refill()
                budget = pace.budget
        pace.budget = budget

    def _take_line(self, raw: bytes | TooLong) -> None:
        self.line_no += 1  # heartbeats count: line numbers are the producer's own
        if self.resumption is not None and self.resumption.skips(raw):
            return
        if isinstance(raw, TooLong):
            self.reject(too_long(raw))
            return
        try:
            update = parse_line(raw)
            if update is not None and self.clock is not None:
                self.clock.convert(update, timezone.now())
        except LineRejected as exc:
            self.reject(str(exc))
            return
        except Exception:  # a bug in the parser costs this line, never the stream or the process
            log.exception("stream %s: line %d could not be parsed", self.token_id, self.line_no)
            self.reject(UNREADABLE)
            return
        if update is not None:
            self.take_update(update, len(raw))

    def line_cost(self) -> int:
        """What a line costs of the token's pace (streaming/token_rate.py): one trace update per
        trace bound to the token, at least one."""
        assert self.writer is not None  # loaded by open(), before any line
        return max(1, len(self.writer.traces))

    def take_update(self, update: Update, size: int) -> None:
        """Hand a parsed line (line number `line_no`) to the pipeline, or reject it alone."""
        assert self.writer is not None  # loaded by open(), before any line
        try:
            self.pipeline.submit(self.writer, update, size)
        except LineRejected as exc:  # a layout the line would grow past its bound
            self.reject(str(exc))
            return
        self.accepted += 1

    async def start_run(self, name: str) -> tuple[int, int]:
        """Start a new run as this stream's next update (a run started through the API, not by a
        line of the producer's); its number and first sequence number, once stored."""
        assert self.writer is not None
        committed = self.pipeline.submit(self.writer, Update(run=name))
        started = self.writer.run, self.writer.seq
        await asyncio.shield(committed)
        return started

    def reject(self, reason: str) -> None:
        """Reject the line `line_no` alone: counted, kept in the answer and the token's status."""
        self.rejections.add(self.line_no, reason)
        assert self.writer is not None
        self.pipeline.reject(self.writer, self.line_no, reason)

    def kick(self, status: int, taken_over_by: tuple[str, str] | None = None, plot_deleted: bool = False) -> None:
        """End the stream from outside (takeover 409, revocation or its plot deleted 410, shutdown 503)."""
        if self.kicked is not None or self.closed.is_set():
            return
        self.kicked = status
        self.taken_over_by = taken_over_by
        self.plot_deleted = plot_deleted
        if self._pump_task is not None:
            self._pump_task.cancel()
        elif self.on_kick is not None:
            self.on_kick(self)

    async def finish(self, status: int) -> Outcome:
        """Commit what was accepted, let go of the token, and say what to answer."""
        assert self.writer is not None
        not_stored = 0
        try:
            # Stored (with a checkpoint of the windows) and sent, before anyone hears it ended.
            not_stored = await self.pipeline.finish_writer(self.writer)
            try:  # a channel layer that is away must not keep the producer from its answer
                await within(self.pipeline.published(), PUBLISH_WAIT)
            except TimeoutError:
                log.warning("stream %s: its last updates were not all handed to viewers in time", self.token_id)
            self.holding = False
            try:
                plot_ids, last_seq = await self.pipeline.run_sync(
                    leases.mark_disconnected, self.token_id, self.session_id, status == 409
                )
            except OUTAGE_ERRORS:
                # The database is away: the token stays marked connected until its lease ends
                # (or the next start, for a single process). The answer does not wait for it.
                _failures.warning("disconnect", f"stream {self.token_id}: could not mark it disconnected")
                plot_ids, last_seq = [], 0
            if self.taken_over_by is not None:
                by, reply_to = self.taken_over_by
                await self.pipeline.confirm_released(reply_to, by)
            await announce_stream_state(plot_ids, self.token_id, connected=False, seq=last_seq)
        finally:
            await self.pipeline.unregister(self)
            self.closed.set()
            count_end(status)
        return Outcome(
            status,
            self.accepted - not_stored,
            self.rejections.count,
            self.rejections.last_error,
            list(self.rejections.by_reason.values()),
            UNBOUND_HINT if self.unbound else None,
            not_stored,
            plot_deleted=self.plot_deleted and status == 410,
            skipped=self.resumption.skipped if self.resumption is not None else 0,
        )

    async def run(self, read: Reader) -> Outcome:
        """pump then finish, finishing even when the task is cancelled (server shutdown)."""
        try:
            status = await self.pump(read)
        except ConnectionLost:
            status = 499
        except Exception:
            log.exception("stream %s from %s failed", self.token_id, self.remote_addr)
            status = 500
            if self.resumption is not None:
                self.resumption.failed()
        except asyncio.CancelledError:
            await asyncio.shield(self.finish(503))
            raise
        outcome = await self.finish(status)
        log_end(self, outcome)
        return outcome


# A line the parser failed on (a defect): it costs this line, never the stream or the process.
UNREADABLE = "the server could not read this line"


def too_long(raw: TooLong) -> str:
    """Why a line longer than STREAM_MAX_LINE_BYTES is rejected alone (counted as a limit hit)."""
    metrics.LIMIT_HITS.labels("line_bytes").inc()
    limit = settings.STREAM_MAX_LINE_BYTES
    return f"the line is {raw.size} bytes, longer than STREAM_MAX_LINE_BYTES ({limit}): rejected alone"


def count_end(status: int) -> None:
    """The metrics of a stream that ended."""
    metrics.STREAMS_OPEN.dec()
    metrics.STREAMS_ENDED.labels(str(status)).inc()
    if status in LIMITS_BY_STATUS:
        metrics.LIMIT_HITS.labels(LIMITS_BY_STATUS[status]).inc()
    if status == 409:
        metrics.TAKEOVERS.inc()


def log_end(session: StreamSession, outcome: Outcome) -> None:
    duration = asyncio.get_running_loop().time() - session.started
    log.info(
        "stream %s from %s ended after %.1f s: %s (%s), %d accepted, %d rejected",
        session.token_id,
        session.remote_addr,
        duration,
        outcome.status,
        outcome.message,
        outcome.accepted,
        outcome.rejected,
        extra={
            "event": "stream.end",
            "token_id": session.token_id,
            "remote_addr": session.remote_addr,
            "duration": round(duration, 3),
            "status": outcome.status,
            "reason": outcome.message,
            "accepted": outcome.accepted,
            "rejected": outcome.rejected,
        },
    )


def _hold(
    token_id: int, session_id: str, remote_addr: str, take_over: bool
) -> tuple[str, list[int], StreamWriter | None] | None:
    """Hold the token and, when nobody held it before, load its writer in the same trip to the
    database thread (a takeover loads it only once the old writer has let go)."""
    held = leases.mark_connected(token_id, session_id, remote_addr, take_over)
    if held is None:
        return None
    previous, plot_ids = held
    return previous, plot_ids, None if previous else load_stream(token_id, timezone.now())


async def announce_stream_state(plot_ids: list[int], token_id: int, connected: bool, seq: int | None = None) -> None:
    """Viewers showing the producer streaming or idle is a courtesy: never fail a stream on it."""
    try:
        await within(events.publish_stream_state(plot_ids, token_id, connected, seq), settings.CHANNEL_LAYER_TIMEOUT)
    except Exception:
        # The relays resync their viewers when the channel layer is back (streaming/relay.py).
        _failures.warning(
            "presence",
            f"could not tell the viewers of plots {plot_ids} that stream {token_id} is "
            + ("connected" if connected else "idle"),
        )
