"""What a write is answered, as InfluxDB answers it: 204, or its JSON error.

    {"code": "invalid", "message": "partial write: line 2: unable to parse 'cpu x=': ..."}

InfluxDB 1's clients read `error` instead of `message`: the answers of `/write` carry both.
docs/ingest.md, "Answers", lists every status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rest_framework import exceptions, status
from rest_framework.response import Response

from lineproto.writes import SeriesOutcome, SeriesWrite
from streaming.answers import RETRY_AFTER

# InfluxDB's error codes by HTTP status.
CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    415: "unsupported media type",
    429: "too many requests",
    500: "internal error",
    503: "unavailable",
}

# How many rejected line numbers a message lists after its first bad line.
LISTED_LINES = 10


NO_CREDENTIALS = (
    "unauthorized access: send your API key as `Authorization: Token API_KEY` (InfluxDB 2), or your username and "
    "API key as Basic credentials or as `u` and `p` (InfluxDB 1)"
)


def error_body(status_code: int, message: str, v1: bool) -> dict[str, str]:
    body = {"code": CODES.get(status_code, "internal error"), "message": message}
    if v1:
        body["error"] = message
    return body


def error_answer(status_code: int, message: str, v1: bool, headers: dict[str, str] | None = None) -> Response:
    if status_code == 503:
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER)}
    return Response(error_body(status_code, message, v1), status=status_code, headers=headers)


def exception_handler_for(v1: bool):
    """A DRF exception handler answering in InfluxDB's shape (credentials, throttles, methods)."""

    def handle(exc: Exception, context: dict) -> Response | None:
        if not isinstance(exc, exceptions.APIException):
            return None
        headers = {}
        message = first_message(exc.detail)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc.status_code = status.HTTP_401_UNAUTHORIZED
            headers["WWW-Authenticate"] = 'Basic realm="plotserver"'
            if isinstance(exc, exceptions.NotAuthenticated):
                message = NO_CREDENTIALS
        wait = getattr(exc, "wait", None)
        if wait:
            headers["Retry-After"] = str(int(wait) + 1)
        return error_answer(exc.status_code, message, v1, headers)

    return handle


def first_message(detail: object) -> str:
    """The first message of a DRF error's detail (a string, or a list or dict of them)."""
    if isinstance(detail, list):
        return first_message(detail[0]) if detail else ""
    if isinstance(detail, dict):
        return first_message(next(iter(detail.values()), ""))
    return str(detail)


@dataclass(slots=True)
class WriteSummary:
    """What became of a write's lines: how many points were stored, and each rejected line of
    the body with why (the first reason given for it)."""

    written: int = 0
    rejected: dict[int, str] = field(default_factory=dict)
    unavailable: str = ""  # the server was stopping, the database away, the series taken over
    failed: bool = False  # the server failed while storing a series (a defect: the log says which)

    def reject(self, line: int, reason: str) -> None:
        self.rejected.setdefault(line, reason)

    def add(self, write: SeriesWrite, outcome: SeriesOutcome, series_name: str) -> None:
        self.written += outcome.accepted
        for line, reason in outcome.rejected:
            self.reject(write.body_lines[line - 1], f"series {series_name!r}: {reason}")
        if outcome.status in (409, 503):  # taken over meanwhile, or stopping: a retry will do
            self.unavailable = self.unavailable or f"series {series_name!r}: {outcome.message}"
        elif outcome.status == 500:
            self.failed = True
        elif outcome.status != 200:
            for line in write.body_lines[outcome.taken :]:
                self.reject(line, f"series {series_name!r}: {outcome.message}")

    def answer(self, v1: bool) -> Response:
        """204 when every line was stored; else InfluxDB's error, naming the first bad line."""
        if self.unavailable:
            return error_answer(503, f"{self._written()}{self.unavailable}", v1)
        if self.failed:
            return error_answer(500, f"{self._written()}the server failed while storing this write", v1)
        if not self.rejected:
            return Response(status=status.HTTP_204_NO_CONTENT)
        lines = sorted(self.rejected)
        first = lines[0]
        message = f"{'partial write: ' if self.written else ''}line {first}: {self.rejected[first]}"
        if len(lines) > 1:
            listed = ", ".join(str(line) for line in lines[1 : 1 + LISTED_LINES])
            more = ", ..." if len(lines) > 1 + LISTED_LINES else ""
            message += f" (and {len(lines) - 1} more lines rejected: {listed}{more})"
        message += f"; {self.written} points written"
        return error_answer(400, message, v1)

    def _written(self) -> str:
        return f"{self.written} points written; " if self.written else ""
