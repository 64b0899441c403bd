"""Resuming a producer's stream on a new connection without storing a line twice.

A producer that keeps its lines until an answer acknowledges them (client/plotserver_client.py)
names its stream and the place of each request's first line in it: `plotserver-resume: <stream
id> <n>`. The commit that stores a line also stores, on the token's row, the stream id and the
number of the last line it covers (streaming/store.py); so when a server dies before it could
answer, the next request of the same stream, on any process, skips the lines stored already
and counts them in its answer as `skipped`. docs/streaming.md, "Resuming after a crash".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.line_framing import TooLong
from streaming.stream_state import StreamWriter

HEADER = "plotserver-resume"
# A stream id: what a producer makes at random once per stream (the client: 22 characters).
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
FIRST_LINE = re.compile(r"[1-9][0-9]{0,17}")
EXPECTED = (
    f"{HEADER}: expected '<stream id> <n>': a stream id of 16 to 64 letters, digits, '-' or '_', then "
    "the number (from 1) of this request's first line in that stream, heartbeats not counted"
)


class MalformedHeader(ValueError):
    """The header is not `<stream id> <n>`: answered 400 with EXPECTED."""


@dataclass(frozen=True, slots=True)
class ResumeFrom:
    """Where a request starts: its producer's stream id and the number of its first line."""

    stream: str
    first_line: int


def resume_from(value: str) -> ResumeFrom:
    """The header's value read; MalformedHeader when it is not `<stream id> <n>`."""
    parts = value.split()
    if len(parts) != 2 or not STREAM_ID.fullmatch(parts[0]) or not FIRST_LINE.fullmatch(parts[1]):
        raise MalformedHeader(EXPECTED)
    return ResumeFrom(parts[0], int(parts[1]))


class Resumption:
    """One request of a resumable stream: numbers its lines on its writer (whose commits store
    the mark), and says which of them were stored already, by an earlier request of that stream."""

    def __init__(self, start: ResumeFrom, writer: StreamWriter) -> None:
        self.writer = writer
        # As the token's row said once this request held the stream: any older connection had
        # stored what it would by then (it handed over, or its process is gone).
        same = writer.resume_stream == start.stream
        self.stored_through = writer.resume_line if same else 0
        writer.resume_stream, writer.resume_line = start.stream, start.first_line - 1
        self.skipped = 0

    def skips(self, raw: bytes | TooLong) -> bool:
        """Number the line; True when it was stored already: it is neither applied nor counted."""
        if not isinstance(raw, TooLong) and (not raw or raw.isspace()):
            return False  # a heartbeat (blank, as parse_line says) has no number
        writer = self.writer
        writer.resume_line += 1
        if writer.resume_line <= self.stored_through:
            self.skipped += 1
            return True
        return False

    def failed(self) -> None:
        """The stream failed (a defect, answered 500) perhaps while taking its last numbered line:
        the mark stops short of that line, so that the producer's resend stores it (twice rather
        than never, had it been taken)."""
        self.writer.resume_line -= 1
