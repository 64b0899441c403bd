"""What every stream door does with a request: the rules, whichever door it came through.

The doors (streaming/consumers.py on the main port, streaming/listener.py on STREAM_PORT) differ
only in how they read the request and encode the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from base.rate_limited_log import RateLimitedLog
from core.producer_clock import HEADER as CONVERT_TIMESTAMP_HEADER
from core.producer_clock import ProducerClock, UnknownZone, zone_named
from core.stream_requests import TOKEN_HEADER
from streaming import token_lines
from streaming.answers import Outcome
from streaming.committer import OUTAGE_ERRORS
from streaming.ingest import Reader, StreamSession, log
from streaming.resume import HEADER as RESUME_HEADER
from streaming.resume import MalformedHeader, resume_from

_failures = RateLimitedLog(log)


async def serve_stream(
    method: str, headers: Mapping[str, str], remote_addr: str, body: Callable[[], Reader]
) -> Outcome | None:
    """One stream request, whichever door it came through: the rules every door follows.

    `headers` are the request's, by lower-case name. POST only (405), a `plotly-convertTimestamp`
    zone if any (400 for a zone unknown here), a known token whose stream this connection takes
    over (`StreamSession.open`: 404, 503), then the body to its end. Without a
    `plotly-streamtoken` header, each line names its token (streaming/token_lines.py).
    A `plotserver-resume` header (400 when malformed) resumes the token's stream after a crash,
    skipping the lines stored already (streaming/resume.py); lines that name their token do not
    resume. `body()` makes the door's reader; it is called only once the request passed the
    checks above, and may raise the door's own error for a body it cannot read. Returns the one
    answer the producer gets, or None when it went away (nobody is left to answer).
    """
    if method != "POST":
        return Outcome(405)
    token = headers.get(TOKEN_HEADER, "").strip()
    clock = None
    if CONVERT_TIMESTAMP_HEADER in headers:
        try:
            clock = ProducerClock(zone_named(headers[CONVERT_TIMESTAMP_HEADER]))
        except UnknownZone as exc:
            return Outcome(400, reason=str(exc))
    resume = None
    if RESUME_HEADER in headers:
        try:
            resume = resume_from(headers[RESUME_HEADER])
        except MalformedHeader as exc:
            return Outcome(400, reason=str(exc))
    read = body()
    if not token:
        return await token_lines.serve(remote_addr, clock, read)
    try:
        opened = await StreamSession.open(token, remote_addr, clock=clock, resume=resume)
    except OUTAGE_ERRORS:
        _failures.warning("open", f"a stream from {remote_addr} was answered 503: the database is unavailable")
        return Outcome(503, database_away=True)
    if isinstance(opened, Outcome):
        return opened
    outcome = await opened.run(read)
    return None if outcome.status == 499 else outcome
