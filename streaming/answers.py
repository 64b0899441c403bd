"""The one answer a stream gets: its status, its message, and what it accepted and rejected.

docs/streaming.md, "Answers", documents the JSON body. A stream's rejected lines are kept as a
small record (a few reasons, a few line numbers each) however many lines it rejects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

from django.conf import settings

from base import metrics

MESSAGES = {
    200: "stream ended cleanly",
    400: "malformed request: the chunked body could not be read",
    404: "unknown or revoked stream token",
    405: "use POST to stream",
    408: "no data for {idle:g} seconds: write a newline as a heartbeat to keep a stream open",
    409: "a newer connection with the same stream token took over this stream",
    410: "the stream token was revoked",
    499: "the producer disconnected",
    500: "the server failed while reading this stream: reconnect; every line accepted before is kept",
    503: "the server is restarting: reconnect",
}
# A 503 before any line was read: the database was away when the stream opened.
DATABASE_AWAY = "the database is unavailable: no line was read; reconnect in a few seconds"
# A 410 for a stream whose plot was deleted (while it streamed, or before it opened).
PLOT_DELETED = (
    "the plot this stream token fed was deleted: its stream ended and no new one is taken until a trace "
    "uses the token again"
)
# Seconds a producer answered 503 is asked to wait before it reconnects (Retry-After).
RETRY_AFTER = 5
# A 503 whose last lines could not be stored (the database was away as the server stopped).
NOT_STORED = (
    "the server is restarting and the database is unavailable: the last {not_stored} accepted lines were "
    "not stored; reconnect and send them again"
)


def rejection_kind(reason: str) -> str:
    """A rejected line's reason as one of a few metric labels (never the text: series stay few)."""
    if reason.startswith(("not JSON", "not valid UTF-8", "expected a JSON object")):
        return "json"
    if "nested" in reason:
        return "nesting"
    if "cannot be streamed" in reason or "has no attribute" in reason:
        return "attribute"
    if "could not read" in reason:
        return "internal"
    return "value"


# How many different rejection reasons an answer lists, and how many line numbers for each: the
# record of a stream's rejections stays small however many lines it rejects.
MAX_REJECTION_REASONS = 10
LINES_PER_REASON = 5
UNBOUND_HINT = (
    "no trace uses this stream token, so its points are not shown anywhere: bind it to a trace "
    "(figure.data[i].stream.token) in a plot"
)


@dataclass
class Rejection:
    """The lines a stream rejected for one reason: how many, and the first few line numbers."""

    reason: str
    count: int = 0
    lines: list[int] = field(default_factory=list)

    def add(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < LINES_PER_REASON:
            self.lines.append(line)


def rejection_key(reason: str) -> str:
    """Reasons that differ only in a column number count as one."""
    text, _, column = reason.rpartition(" at column ")
    return text if text and column.isdigit() else reason


class Rejections:
    """A stream's rejected lines: how many, the last error, and a small record per reason."""

    def __init__(self) -> None:
        self.count = 0
        self.last_error: tuple[int, str] | None = None
        self.by_reason: dict[str, Rejection] = {}

    def add(self, line: int, reason: str) -> None:
        metrics.LINES_REJECTED.labels(rejection_kind(reason)).inc()  # rare: bad lines only
        self.count += 1
        self.last_error = (line, reason)
        key = rejection_key(reason)
        if key not in self.by_reason and len(self.by_reason) >= MAX_REJECTION_REASONS:
            key = "other reasons"
        self.by_reason.setdefault(key, Rejection(key)).add(line)


class RejectionSummary(TypedDict):
    reason: str
    count: int
    lines: list[int]


class AnswerError(TypedDict):
    """The last rejected line of this connection, in its answer (the token's status keeps its
    own, with the time: core.models.LastError)."""

    line: int
    message: str


class StreamAnswer(TypedDict):
    """The JSON body of the one answer a stream gets (docs/streaming.md, "Answers")."""

    status: int
    message: str
    accepted: int
    rejected: int
    rejections: NotRequired[list[RejectionSummary]]
    last_error: NotRequired[AnswerError]
    hint: NotRequired[str]
    not_stored: NotRequired[int]
    # Lines an earlier request of the same resumed stream had stored (streaming/resume.py).
    skipped: NotRequired[int]
    # A connection whose lines name their token: each token's own answer, by token.
    tokens: NotRequired[dict[str, StreamAnswer]]


@dataclass
class Outcome:
    """How a stream ended, and the answer its producer gets."""

    status: int
    accepted: int = 0
    rejected: int = 0
    last_error: tuple[int, str] | None = None
    rejections: list[Rejection] = field(default_factory=list)
    hint: str | None = None
    not_stored: int = 0
    database_away: bool = False
    plot_deleted: bool = False
    reason: str | None = None  # what was wrong with a request refused before its body (400)
    tokens: dict[str, Outcome] | None = None  # lines that name their token: each token's own
    skipped: int = 0  # lines stored already by an earlier request of the resumed stream

    @property
    def message(self) -> str:
        if self.reason:
            return self.reason
        if self.database_away:
            return DATABASE_AWAY
        if self.plot_deleted:
            return PLOT_DELETED
        if self.not_stored:
            return NOT_STORED.format(not_stored=self.not_stored)
        return MESSAGES[self.status].format(idle=settings.STREAM_IDLE_TIMEOUT)

    def headers(self) -> list[tuple[str, str]]:
        """The answer's headers, the same on both doors: JSON, one answer per connection, and
        when to come back after a 503."""
        headers = [("Content-Type", "application/json"), ("Connection", "close")]
        if self.status == 503:
            headers.append(("Retry-After", str(RETRY_AFTER)))
        return headers

    def as_json(self) -> StreamAnswer:
        body: StreamAnswer = {
            "status": self.status,
            "message": self.message,
            "accepted": self.accepted,
            "rejected": self.rejected,
        }
        if self.rejections:
            body["rejections"] = [{"reason": r.reason, "count": r.count, "lines": r.lines} for r in self.rejections]
        if self.last_error is not None:
            body["last_error"] = {"line": self.last_error[0], "message": self.last_error[1]}
        if self.hint:
            body["hint"] = self.hint
        if self.not_stored:
            body["not_stored"] = self.not_stored
        if self.skipped:
            body["skipped"] = self.skipped
        if self.tokens is not None:
            body["tokens"] = {token: outcome.as_json() for token, outcome in self.tokens.items()}
        return body
