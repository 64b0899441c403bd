"""Lines that name their token: one connection feeding the streams of several tokens.

Plotly's Arduino library sends no `plotly-streamtoken` header: each line names its token in a
`streamtoken` key, and the traces of a sketch take turns on one connection. A TokenLines reads
such a body as a StreamSession reads its own (framing, the idle timeout, the producer's clock,
the process's backpressure: `read_body`) and hands each line to the session of the token it
names. That session is opened at the token's first line by `StreamSession.open`, with the same
takeover and refusal rules, and keeps its own pace, rejections, status and answer: each token
behaves as if it had a connection of its own (docs/streaming.md, "Lines that name their token").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from base.rate_limited_log import RateLimitedLog
from core.line_framing import LineFramer, TooLong
from core.producer_clock import ProducerClock
from core.protocol import TOKEN_KEY, LineRejected, Update, parse_line
from streaming.answers import Outcome, Rejections
from streaming.committer import OUTAGE_ERRORS
from streaming.ingest import UNREADABLE, ConnectionLost, Reader, StreamSession, log_end, read_body, too_long
from streaming.pipeline import get_pipeline

log = logging.getLogger("plotserver.streaming")
_failures = RateLimitedLog(log)

NO_TOKEN = (
    "the line names no stream token: on a connection without a plotly-streamtoken header, "
    f'each line names its own ("{TOKEN_KEY}")'
)
TOO_MANY = (
    "this connection feeds STREAM_CONNECTION_MAX_TOKENS ({limit}) tokens already: a line for another token is "
    "rejected (open a connection of its own for it)"
)
DATABASE_AWAY = (
    "the database is unavailable: the stream of the token of line {line} could not be opened, and no line was read "
    "from it on; reconnect in a few seconds"
)


class Unavailable(Exception):
    """A token's stream could not be opened because the server is stopping or its database is away:
    the whole connection ends 503, as a connection of that token's own would have."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


@dataclass
class Gone:
    """A token this connection feeds no more: refused at its first line (404, 410), or its session
    ended by a kick (409 taken over, 410 revoked). Its later lines are rejected alone."""

    reason: str
    outcome: Outcome | None = None
    ending: asyncio.Task[Outcome] | None = None
    late: Rejections = field(default_factory=Rejections)

    async def answer(self) -> Outcome:
        """The token's answer: its session's (or its refusal), with the lines rejected after."""
        outcome = self.outcome if self.ending is None else await self.ending
        assert outcome is not None
        if self.late.count:
            outcome.rejected += self.late.count
            outcome.last_error = self.late.last_error
            outcome.rejections = [*outcome.rejections, *self.late.by_reason.values()]
        return outcome


class TokenLines:
    """One connection whose lines name their token. Made and run by `serve`."""

    def __init__(self, remote_addr: str, clock: ProducerClock | None) -> None:
        self.remote_addr = remote_addr
        self.clock = clock  # one clock: the traces of a board share its millis()
        self.framer = LineFramer(settings.STREAM_MAX_LINE_BYTES)
        self.line_no = 0
        self.sessions: dict[str, StreamSession] = {}
        self.gone: dict[str, Gone] = {}
        self.rejections = Rejections()  # the lines that belong to no token's stream
        self._pump_task: asyncio.Task[object] | None = None
        self._status: int | None = None  # the connection ended from outside (503: shutdown)

    async def run(self, read: Reader) -> Outcome:
        """Read every line, then finish every token's stream; the connection's one answer."""
        pipeline = await get_pipeline()
        task = self._pump_task = asyncio.current_task()
        assert task is not None
        try:
            status = await read_body(read, self._feed, pipeline)
            if status == 200 and (last := self.framer.finish()):  # a last line without its newline
                await self._take([last])
        except Unavailable as exc:
            return await self._end(exc.outcome.status, exc.outcome)
        except ConnectionLost:
            status = 499
        except asyncio.CancelledError:
            if self._status is None:  # the server is stopping: every stream commits first
                await asyncio.shield(self._end(503))
                raise
            task.uncancel()
            status = self._status
        except Exception:
            log.exception("a stream of lines that name their token from %s failed", self.remote_addr)
            status = 500
        finally:
            self._pump_task = None
        return await self._end(status)

    async def _feed(self, data: bytes) -> None:
        await self._take(self.framer.feed(data))

    async def _take(self, lines: list[bytes | TooLong]) -> None:
        """Take lines as a connection of a token's own takes a read (`StreamSession._feed_paced`):
        each token's pace charged per line from a local budget, waited on only when it runs out.
        A line of the same token as the line before costs no look-up, call or coroutine more than
        a line of the header form (docs/performance.md, row (o)); a token's stream is opened at
        its first line."""
        session: StreamSession | None = None  # the previous line's, while nothing was awaited since
        token: str | None = None
        budget, cost = 0.0, 0
        for raw in lines:
            self.line_no += 1  # heartbeats count: line numbers are the producer's own
            if (line := self._parsed(raw)) is None:
                continue
            if session is None or line.token != token:
                if session is not None:
                    session.pace.budget = budget
                token = line.token
                assert token is not None  # _parsed keeps only the lines that name one
                if (session := self.sessions.get(token)) is None and (session := await self._session(token)) is None:
                    continue
                budget, cost = session.pace.budget, session.line_cost()
            session.line_no = self.line_no
            if isinstance(line, LineRejected):
                session.reject(str(line))
                continue
            session.take_update(line, line.size)
            budget -= cost
            if budget < 0:  # past the token's pace, the connection is read more slowly
                session.pace.budget = budget
                await session.pace.refill()
                session = None  # a kick may have ended it meanwhile
        if session is not None:
            session.pace.budget = budget

    def _parsed(self, raw: bytes | TooLong) -> Update | LineRejected | None:
        """A line's update, or why the token it names rejects it (both carry the token); None for
        a heartbeat or a line that belongs to no token's stream (rejected here, in the
        connection's answer)."""
        if isinstance(raw, TooLong):
            self._reject(too_long(raw))
            return None
        try:
            update = parse_line(raw, named=True)
            if update is not None and update.token is not None and self.clock is not None:
                self.clock.convert(update, timezone.now())
        except LineRejected as exc:
            if exc.token is None:
                self._reject(str(exc))
                return None
            return exc
        except Exception:  # a bug in the parser costs this line, never the stream or the process
            log.exception("a stream from %s: line %d could not be parsed", self.remote_addr, self.line_no)
            self._reject(UNREADABLE)
            return None
        if update is not None and update.token is None:
            self._reject(NO_TOKEN)
            return None
        return update

    async def _session(self, token: str) -> StreamSession | None:
        """The open session of `token`, opened at its first line; None (the line rejected alone,
        with the reason) for a token refused, ended, or one past STREAM_CONNECTION_MAX_TOKENS."""
        if (session := self.sessions.get(token)) is not None:
            return session
        if (gone := self.gone.get(token)) is not None:
            gone.late.add(self.line_no, gone.reason)
            return None
        limit = settings.STREAM_CONNECTION_MAX_TOKENS
        if len(self.sessions) + len(self.gone) >= limit:
            self._reject(TOO_MANY.format(limit=limit))
            return None
        try:
            opened = await StreamSession.open(token, self.remote_addr, clock=None)
        except OUTAGE_ERRORS:
            _failures.warning("open", f"a stream from {self.remote_addr} was answered 503: the database is unavailable")
            raise Unavailable(Outcome(503, reason=DATABASE_AWAY.format(line=self.line_no))) from None
        if isinstance(opened, Outcome):
            if opened.status == 503:
                raise Unavailable(opened)
            gone = self.gone[token] = Gone(f"{opened.message}: rejected alone", outcome=opened)
            gone.late.add(self.line_no, gone.reason)  # this line
            return None
        self.sessions[token] = opened
        opened.on_kick = self._kicked
        if opened.kicked is not None:  # kicked while it opened
            self._kicked(opened)
            return await self._session(token)
        return opened

    def _kicked(self, session: StreamSession) -> None:
        """A kick ends only its token's session (409 takeover, 410 revocation), at once: the
        connection that took over waits for it to let go. A 503 (shutdown) ends the connection."""
        status = session.kicked
        assert status is not None
        if status == 503:
            if self._status is None and self._pump_task is not None:
                self._status = 503
                self._pump_task.cancel()
            return
        token = next((t for t, s in self.sessions.items() if s is session), None)
        if token is None:
            return
        del self.sessions[token]
        reason = f"{Outcome(status, plot_deleted=session.plot_deleted).message}: rejected alone"
        self.gone[token] = Gone(reason, ending=asyncio.create_task(self._finish(session, status)))

    async def _finish(self, session: StreamSession, status: int) -> Outcome:
        outcome = await session.finish(status)
        log_end(session, outcome)
        return outcome

    async def _end(self, status: int, outcome: Outcome | None = None) -> Outcome:
        """Finish every token's session with the connection's status; the connection's answer:
        totals, the lines of no token's stream, and each token's own answer."""
        ending = {token: self._finish(session, session.kicked or status) for token, session in self.sessions.items()}
        self.sessions = {}
        finished = dict(zip(ending, await asyncio.gather(*ending.values()), strict=True))
        tokens = {**finished, **{token: await gone.answer() for token, gone in self.gone.items()}}
        answer = outcome or Outcome(status)
        answer.accepted = sum(o.accepted for o in tokens.values())
        answer.rejected = self.rejections.count + sum(o.rejected for o in tokens.values())
        answer.last_error = self.rejections.last_error
        answer.rejections = list(self.rejections.by_reason.values())
        answer.not_stored = sum(o.not_stored for o in tokens.values())
        answer.tokens = tokens
        return answer

    def _reject(self, reason: str) -> None:
        """A line that belongs to no token's stream: in the connection's answer only."""
        self.rejections.add(self.line_no, reason)


async def serve(remote_addr: str, clock: ProducerClock | None, read: Reader) -> Outcome | None:
    """A connection whose lines name their token, to its end; None when the producer went away."""
    outcome = await TokenLines(remote_addr, clock).run(read)
    return None if outcome.status == 499 else outcome
