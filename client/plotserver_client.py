"""A producer for plotserver: the `Stream` class and the `plotserver-stream` command.

Standard library only, Python 3.9 or newer: install it with `pip install ./client`, or copy
this one file next to your program (`python3 plotserver_client.py --help` runs the command).

    from plotserver_client import Stream

    with Stream("http://plots.example.com:8000", token) as stream:
        stream.write({"x": 1, "y": 2.5})

A `Stream` holds one chunked POST open, writes a heartbeat when it has been quiet, and keeps
every line until the server's answer acknowledges it. The server answers a stream once, when
it ends, with the number of lines it `accepted` and `rejected`, counted in the order they were
sent; so when a stream ends early (a restart answers 503), the lines past those counts are the
ones the server never read, and only they are sent again on the new connection. When a
connection breaks with no answer at all (a crash, a network cut), every unacknowledged line is
sent again, and each request says where it starts in the stream (`plotserver-resume: <stream
id> <n>`): the server skips the lines it had stored already and counts them as `skipped`.
Nothing is lost and nothing is stored twice. To keep memory bounded, a stream ends its request
and opens a new one whenever its unacknowledged lines reach `max_pending_bytes`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import http.client
import json
import math
import os
import random
import re
import secrets
import select
import signal
import ssl
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

__version__ = "1.0.0"

# Answers after which connecting again cannot help: the stream stops and says why.
FATAL_STATUSES = {400, 404, 405, 406, 409, 410, 413}
CHUNK_BYTES = 64 * 1024
# Seconds a stream interrupted while it worked may still spend reconnecting to deliver its lines.
INTERRUPT_GRACE = 10.0
# With `acknowledge_every`, the longest the interval between acknowledgements grows to (seconds).
ACKNOWLEDGE_MAX = 30.0
# The header that names a request's place in the stream: the stream id, then the number (from 1)
# of the request's first line, heartbeats not counted.
RESUME_HEADER = "plotserver-resume"


class StreamError(Exception):
    """The server refused the stream for good (unknown or revoked token, a newer connection
    took over, ...), the server stayed unreachable past `retry_for`, or `interrupt()` was called
    while it could not be reached."""

    def __init__(self, message: str, status: int | None = None, answer: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer or {}


class Answer:
    """The server's one answer to a stream: a status and, from plotserver, the JSON counts."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        self.json: dict = parsed if isinstance(parsed, dict) else {}
        self.text = body.decode("utf-8", "replace").strip()

    @property
    def counts(self) -> tuple[int, int, int] | None:
        """(accepted, rejected, skipped), or None when the answer did not come from plotserver's
        ingest. Skipped lines were stored by an earlier request the server could not answer."""
        accepted, rejected, skipped = self.json.get("accepted"), self.json.get("rejected"), self.json.get("skipped", 0)
        if isinstance(accepted, int) and isinstance(rejected, int) and isinstance(skipped, int):
            return accepted, rejected, skipped
        return None

    @property
    def message(self) -> str:
        return str(self.json.get("message") or self.text or "no message")


class Stream:
    """One producer's stream to one token: `write` lines, `close` when done (or use `with`).

    `write` takes a dict (sent as one JSON line), or a str or bytes line. It blocks while the
    server is unreachable, reconnecting with exponential backoff (from `backoff` up to
    `max_backoff` seconds, with jitter), and raises StreamError on an answer that reconnecting
    cannot fix (see FATAL_STATUSES) or when `retry_for` seconds pass without a connection.
    A heartbeat (a blank line) goes out after `heartbeat` seconds without a write. A refusal
    is noticed between writes too, and raised by the next `write` or `close`. `timeout`
    bounds every connect, send and answer wait. Counters: `sent`, `accepted`, `rejected`,
    `skipped` (lines resent after a crash that the server had stored already: counted neither
    accepted nor rejected), `pending`, `reconnects` (connections opened again after one was
    lost), `last_error` (the server's last rejected line, as it reported it).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        heartbeat: float = 30.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        retry_for: float | None = None,
        timeout: float = 30.0,
        max_pending_bytes: int = 8 << 20,
        ssl_context: ssl.SSLContext | None = None,
        acknowledge_every: float | None = None,
    ) -> None:
        target = urlsplit(url)
        if target.scheme not in ("http", "https") or not target.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if not token:
            raise ValueError("a stream token is needed")
        self.url = url
        self.token = token
        self.heartbeat = heartbeat
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_for = retry_for
        self.timeout = timeout
        self.max_pending_bytes = max_pending_bytes
        # The server counts accepted and rejected lines only in its answer: asking for one after
        # `acknowledge_every` seconds of a connection (then twice as long each time, up to
        # ACKNOWLEDGE_MAX) keeps the counters current while the stream runs.
        self.acknowledge_every = acknowledge_every
        self._acknowledge_interval = acknowledge_every or 0.0
        self._acknowledge_at = 0.0
        self._target = target
        self._host: str = target.hostname
        self._ssl_context = ssl_context
        self._path = target.path or "/"

        self.sent = 0
        self.accepted = 0
        self.rejected = 0
        self.skipped = 0
        self.reconnects = 0
        # This stream's name in its requests' resume header, and how many of its lines answers
        # acknowledged: the first pending line is number `_acknowledged + 1`.
        self.stream_id = secrets.token_urlsafe(16)
        self._acknowledged = 0
        self.last_error: dict | None = None
        self.last_status: int | None = None

        # Lines written and not yet acknowledged, oldest first. Every one of them has been sent
        # on the open connection (or will be, as soon as one opens).
        self._pending: collections.deque[bytes] = collections.deque()
        self._pending_bytes = 0
        self._conn: http.client.HTTPConnection | None = None
        self._failures = 0
        self._failing_since: float | None = None
        self._last_send = time.monotonic()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._interrupted = threading.Event()  # interrupt(): stop waiting for a server that does not answer
        self._interrupted_at = 0.0
        self._error: StreamError | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- the public side -------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Lines sent and not yet acknowledged by an answer."""
        return len(self._pending)

    def open(self) -> Stream:
        """Connect now (write connects by itself); raise StreamError if the server refuses."""
        with self._lock:
            self._check_usable()
            self._ensure_connected()
        return self

    def write(self, data: dict | list | str | bytes) -> None:
        """Send one line (a dict or list as JSON); a str or bytes with newlines is several lines.

        A blank line is a heartbeat. Lines are kept until the server acknowledges them.
        """
        for line in _lines_of(data):
            with self._lock:
                self._check_usable()
                if not line.strip():
                    self._heartbeat_now()
                    continue
                if self._pending and self._pending_bytes + len(line) > self.max_pending_bytes:
                    self._checkpoint()
                self._pending.append(line)
                self._pending_bytes += len(line)
                self.sent += 1
                if self._conn is None:
                    self._ensure_connected()  # sends every pending line, this one included
                    continue
                try:
                    if self._server_answered():
                        raise ConnectionAbortedError("the server ended the stream")
                    self._send_chunk(line)
                except OSError:
                    self._connection_lost()
                    self._ensure_connected()

    def close(self) -> dict:
        """End the stream: wait until every line is acknowledged, then return the totals."""
        with self._lock:
            if self._closed:
                return self.totals()
            self._stop.set()
            try:
                self._check_usable()
                while self._pending or self._conn is not None:
                    self._checkpoint()
            finally:
                self._closed = True
                self._drop_connection()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.timeout)
        return self.totals()

    def totals(self) -> dict:
        """The counters, as a dict: what the progress line and the command's summary show."""
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "pending": self.pending,
            "reconnects": self.reconnects,
        }

    def __enter__(self) -> Stream:
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            # The program failed: still hand over what it wrote, but let its error show.
            with contextlib.suppress(StreamError):
                self.close()

    # -- connections -------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise StreamError("the stream is closed")

    def _ensure_connected(self) -> None:
        """Open a connection (waiting out the backoff) and send every pending line on it."""
        while self._conn is None:
            if self._failures:
                self._wait_before_retry()
            try:
                self._open_connection()
                for chunk in _batches(self._pending, CHUNK_BYTES):
                    self._send_chunk(chunk)
            except OSError:
                self._connection_lost()
                continue
            if self._failures:
                self.reconnects += 1
            self._failures = 0
            self._failing_since = None
            self._start_heartbeats()

    def _open_connection(self) -> None:
        host, port = self._host, self._target.port
        if self._target.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self._ssl_context
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        self._conn = conn
        conn.putrequest("POST", self._path, skip_accept_encoding=True)
        conn.putheader("plotly-streamtoken", self.token)
        conn.putheader(RESUME_HEADER, f"{self.stream_id} {self._acknowledged + 1}")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Content-Type", "application/x-ndjson")
        conn.putheader("User-Agent", f"plotserver-client/{__version__}")
        conn.endheaders()
        self._last_send = time.monotonic()
        self._acknowledge_at = self._last_send + self._acknowledge_interval

    def _send_chunk(self, data: bytes) -> None:
        assert self._conn is not None and self._conn.sock is not None
        self._conn.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        self._last_send = time.monotonic()

    def _server_answered(self) -> bool:
        """True when the server has written (its one answer) or closed: the stream is over."""
        sock = self._conn.sock if self._conn is not None else None
        if sock is None:
            return True
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def _read_answer(self) -> Answer | None:
        """The answer on the current connection, if the server gave one; the connection closes."""
        conn = self._conn
        if conn is None:
            return None
        if conn.sock is None:  # never connected
            self._drop_connection()
            return None
        try:
            conn.sock.settimeout(self.timeout)
            response = conn.getresponse()
            return Answer(response.status, response.read())
        except (OSError, http.client.HTTPException):
            return None
        finally:
            self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None

    def _checkpoint(self) -> None:
        """End the current request and settle its answer (close, or bounding pending lines)."""
        self._ensure_connected()
        # Should this fail, the answer, if any, still says what the server read.
        with contextlib.suppress(OSError):
            assert self._conn is not None and self._conn.sock is not None  # _ensure_connected
            self._conn.sock.sendall(b"0\r\n\r\n")
        self._settle(self._read_answer(), ended_by_us=True)

    def _connection_lost(self) -> None:
        """The stream ended while we were writing: read why, keep what was not acknowledged."""
        self._settle(self._read_answer(), ended_by_us=False)

    def _settle(self, answer: Answer | None, ended_by_us: bool) -> None:
        """Drop the lines an answer acknowledges; raise on a fatal answer; count a reconnect."""
        self._drop_connection()
        self.last_status = answer.status if answer else None
        counts = answer.counts if answer else None
        if answer is not None and answer.json.get("not_stored"):
            # The server stopped with lines it could not store: what it stored is a first part of
            # the request that the counts cannot place (a rejected line may follow one not
            # stored). Every line is kept: the resend's resume header skips those stored.
            counts = None
        if answer is not None and counts is not None:
            accepted, rejected, skipped = counts
            self.accepted += accepted
            self.rejected += rejected
            self.skipped += skipped
            done = min(accepted + rejected + skipped, len(self._pending))
            for _ in range(done):
                self._pending_bytes -= len(self._pending.popleft())
            self._acknowledged += done
            if answer.json.get("last_error"):
                self.last_error = answer.json["last_error"]
        if answer is not None and answer.status in FATAL_STATUSES:
            self._error = StreamError(f"{answer.status} {answer.message}", answer.status, answer.json)
            raise self._error
        if not (ended_by_us and answer is not None and answer.status == 200):
            self._failures += 1
            if self._failing_since is None:
                self._failing_since = time.monotonic()

    def _wait_before_retry(self) -> None:
        failing_for = time.monotonic() - (self._failing_since or time.monotonic())
        if self.retry_for is not None and failing_for > self.retry_for:
            self._error = StreamError(f"could not reach {self.url} for {self.retry_for:g} seconds")
            raise self._error
        longest = min(self.max_backoff, self.backoff * 2 ** (self._failures - 1))
        delay = random.uniform(longest / 2, longest)
        self._give_up_if_interrupted()
        if self._interrupted.is_set():
            # Interrupted while it worked: a passing failure (a restart) still gets its retries,
            # for INTERRUPT_GRACE seconds from the interruption.
            time.sleep(max(0.0, min(delay, self._interrupted_at + INTERRUPT_GRACE - time.monotonic())))
        else:
            self._interrupted.wait(delay)
        self._give_up_if_interrupted()

    def _give_up_if_interrupted(self) -> None:
        """Raise StreamError once interrupted, if the server could not be reached already before
        the interruption, or for INTERRUPT_GRACE seconds since."""
        if not self._interrupted.is_set():
            return
        failing_since = self._failing_since or time.monotonic()
        if failing_since <= self._interrupted_at or time.monotonic() - self._interrupted_at >= INTERRUPT_GRACE:
            self._error = StreamError(
                f"interrupted while {self.url} could not be reached: {len(self._pending)} lines not delivered"
            )
            raise self._error

    def interrupt(self) -> None:
        """Stop waiting for a server that cannot be reached (a signal, say): the write or close
        that waits raises StreamError, saying how many lines were not delivered. A stream that
        is connected delivers what it holds as usual, and may reconnect for INTERRUPT_GRACE seconds."""
        if not self._interrupted.is_set():
            self._interrupted_at = time.monotonic()
        self._interrupted.set()

    # -- heartbeats --------------------------------------------------------------------------

    def _heartbeat_now(self) -> None:
        self._ensure_connected()
        try:
            self._send_chunk(b"\n")
        except OSError:
            self._connection_lost()
            self._ensure_connected()

    def _acknowledgement_due(self) -> bool:
        return bool(self.acknowledge_every and self._pending and time.monotonic() >= self._acknowledge_at)

    def _start_heartbeats(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._keep_alive, name="plotserver-heartbeat", daemon=True)
            self._thread.start()

    def _keep_alive(self) -> None:
        """Between writes: send heartbeats, and notice at once when the server ends the stream,
        so that a restart is answered by reconnecting and resending, not by the next write."""
        interval = max(0.05, min(0.25, self.heartbeat / 4))
        while not self._stop.wait(interval):
            with self._lock:
                if self._closed or self._error is not None or self._stop.is_set():
                    return
                try:
                    if self._conn is not None and self._server_answered():
                        self._connection_lost()
                    if self._conn is None:
                        self._ensure_connected()
                    elif self._acknowledgement_due():
                        self._checkpoint()  # the next pass connects again
                        self._acknowledge_interval = min(self._acknowledge_interval * 2, ACKNOWLEDGE_MAX)
                    elif time.monotonic() - self._last_send >= self.heartbeat:
                        self._send_chunk(b"\n")
                except OSError:
                    try:
                        self._connection_lost()
                    except StreamError:
                        return
                except StreamError:
                    return  # kept in self._error: the next write or close raises it


def _lines_of(data: dict | list | str | bytes) -> Iterator[bytes]:
    if isinstance(data, (dict, list)):
        yield json.dumps(data, separators=(",", ":"), allow_nan=True).encode() + b"\n"
        return
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    for line in data.splitlines() or [b""]:
        yield line.rstrip(b"\r") + b"\n"


def _batches(lines: Iterable[bytes], limit: int) -> Iterator[bytes]:
    batch: list[bytes] = []
    size = 0
    for line in lines:
        if batch and size + len(line) > limit:
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(line)
        size += len(line)
    if batch:
        yield b"".join(batch)


# -- CSV ---------------------------------------------------------------------------------------

NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_value(field: str) -> Any:
    """A CSV field as a plotserver value: a number when it reads as one, empty as null, else text."""
    text = field.strip()
    if text == "":
        return None
    if NUMBER.fullmatch(text):
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        number = float(text)
        return number if math.isfinite(number) else None
    return text


# A column's attribute: `x`, `marker.color`.
ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class NotAHeader(ValueError):
    """The first CSV row, read as the header, does not name attributes: it is data."""


class CsvRows:
    """Turns CSV lines into points: column i becomes attribute columns[i] ('-' or '' skips it).

    Without columns, the first row is a header that names them (`x,y` or `x,y,marker.color`);
    a first row that names no attributes (`1,20.5`: the header was lost, as `tail -f` loses
    it) raises NotAHeader rather than have every row rejected.
    """

    def __init__(self, columns: list[str] | None, skip_header: bool = False) -> None:
        self.columns = columns
        self.skip_header = skip_header

    def point(self, line: str) -> dict | None:
        """The point of one CSV line; None for the header row and for blank lines."""
        if not line.strip():
            return None
        row = next(csv.reader([line]))
        if self.columns is None:
            columns = [name.strip() for name in row]
            wrong = [name for name in columns if name not in ("", "-") and not ATTRIBUTE.fullmatch(name)]
            if wrong:
                raise NotAHeader(
                    f"the first CSV row is read as the header, which names each column's attribute (x,y), "
                    f"but {line.strip()!r} names none ({wrong[0]!r}): name the columns with --columns x,y, "
                    "or send the file from its first line (tail -n +1 -f sensor.csv, not tail -f)"
                )
            self.columns = columns
            return None
        if self.skip_header:
            self.skip_header = False
            return None
        return {name: csv_value(field) for name, field in zip(self.columns, row) if name and name != "-"}


# -- the command -------------------------------------------------------------------------------


class Progress:
    """The progress line on a terminal: lines sent and their rate, acknowledged, reconnects."""

    def __init__(self, stream: Stream, out, interval: float = 0.5) -> None:
        self.stream = stream
        self.out = out
        self.interval = interval
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="plotserver-progress", daemon=True)
        self._last = (self.started, 0)
        self.rate = 0.0

    def start(self) -> Progress:
        self._thread.start()
        return self

    def line(self) -> str:
        s = self.stream
        now, sent = time.monotonic(), s.sent
        then, sent_then = self._last
        if now - then >= self.interval:
            self.rate = (sent - sent_then) / (now - then)
            self._last = (now, sent)
        plural = "" if s.reconnects == 1 else "s"
        line = (
            f"{s.sent} sent ({self.rate:.1f}/s), {s.accepted} accepted, {s.rejected} rejected, "
            f"{s.pending} awaiting acknowledgement, {s.reconnects} reconnect{plural}"
        )
        if s.last_error:
            reason = str(s.last_error.get("message", ""))
            line += f"; last rejected: line {s.last_error.get('line')}: {reason[:60]}"
        return line

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.out.write("\r\x1b[K" + self.line())
            self.out.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.out.write("\r\x1b[K")
        self.out.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="plotserver-stream",
        description="Stream lines to a plotserver stream token: NDJSON as is, or CSV rows as points.",
        epilog="Example: tail -n +1 -f sensor.csv | plotserver-stream --url http://plots:8000 --token $TOKEN --csv",
    )
    parser.add_argument("file", nargs="?", default="-", help="file to read (default: standard input, also '-')")
    parser.add_argument("--url", default=os.environ.get("PLOTSERVER_URL"), help="server URL ($PLOTSERVER_URL)")
    parser.add_argument(
        "--token", default=os.environ.get("PLOTSERVER_TOKEN"), help="stream token (or $PLOTSERVER_TOKEN, out of ps)"
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--ndjson", dest="csv", action="store_false", help="lines are JSON objects (the default)")
    kind.add_argument("--csv", dest="csv", action="store_true", help="lines are CSV rows")
    parser.set_defaults(csv=False)
    parser.add_argument(
        "--columns",
        help="CSV: the attribute of each column, e.g. x,y or x,-,y ('-' skips one); default: the header row",
    )
    parser.add_argument("--skip-header", action="store_true", help="CSV with --columns: ignore the first row")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds of quiet before a heartbeat (30)")
    parser.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between reconnections (30)")
    parser.add_argument(
        "--retry-for", type=float, default=None, help="give up after this many seconds unreachable (default: never)"
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    shown.add_argument("--quiet", dest="progress", action="store_false", help="no progress line and no summary")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url is required (or set PLOTSERVER_URL)")
    if not args.token:
        parser.error("--token is required (or set PLOTSERVER_TOKEN)")
    if args.columns is not None and not args.csv:
        parser.error("--columns needs --csv")
    target = urlsplit(args.url)
    if target.scheme not in ("http", "https") or not target.hostname:
        parser.error(f"--url is an http:// or https:// URL, such as http://{args.url.split('://')[-1]}")
    return args


class Interruption:
    """Ctrl-C or SIGTERM ends the input, never a write halfway: what was read is still delivered,
    unless the server cannot be reached, which is then waited for no longer."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.requested = False
        self.reading = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.handle)

    def handle(self, signum, frame) -> None:
        self.requested = True
        self.stream.interrupt()
        if self.reading:  # blocked waiting for input: stop waiting
            raise KeyboardInterrupt

    def lines(self, path: str) -> Iterator[bytes]:
        """Lines as they arrive: from a pipe that is as soon as each is written (tail -f)."""
        source = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        try:
            while not self.requested:
                self.reading = True
                try:
                    line = source.readline()
                except KeyboardInterrupt:
                    return
                finally:
                    self.reading = False
                if not line:
                    return
                yield line
        finally:
            if source is not sys.stdin.buffer:
                source.close()


def main(argv: list[str] | None = None) -> int:
    """The plotserver-stream command; returns its exit status (0 done, 1 refused, 130 interrupted)."""
    args = parse_args(argv)
    rows = None
    if args.csv:
        columns = [name.strip() for name in args.columns.split(",")] if args.columns is not None else None
        rows = CsvRows(columns, skip_header=args.skip_header)
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    stream = Stream(
        args.url,
        args.token,
        heartbeat=args.heartbeat,
        max_backoff=args.max_backoff,
        retry_for=args.retry_for,
        # The progress line shows rejected lines as they happen: the server counts them in its
        # answers, so the command asks for one soon (then less and less often).
        acknowledge_every=1.0 if show_progress else None,
    )
    progress = Progress(stream, sys.stderr).start() if show_progress else None
    interruption = Interruption(stream)
    interruption.install()
    try:
        stream.open()
        for raw in interruption.lines(args.file):
            if rows is None:
                stream.write(raw)
            else:
                point = rows.point(raw.decode("utf-8", "replace"))
                if point:
                    stream.write(point)
        totals = stream.close()
    except NotAHeader as exc:
        _finish(progress)
        with contextlib.suppress(StreamError):
            stream.close()
        print(f"plotserver-stream: {exc}", file=sys.stderr)
        return 2
    except StreamError as exc:
        _finish(progress)
        print(f"plotserver-stream: {exc}", file=sys.stderr)
        return 130 if interruption.requested else 1
    _finish(progress)
    if args.progress is not False:
        reconnects = totals["reconnects"]
        summary = (
            f"plotserver-stream: {totals['accepted']} accepted, {totals['rejected']} rejected, "
            f"{reconnects} reconnect{'' if reconnects == 1 else 's'}"
        )
        if totals["skipped"]:
            summary += f", {totals['skipped']} resent lines found stored already"
        print(summary, file=sys.stderr)
        if stream.last_error:
            print(f"plotserver-stream: last rejected line: {stream.last_error}", file=sys.stderr)
    return 130 if interruption.requested else 0


def _finish(progress: Progress | None) -> None:
    if progress is not None:
        progress.stop()


def run() -> None:
    """Entry point of the installed command."""
    sys.exit(main())


if __name__ == "__main__":
    run()


__all__ = ["Answer", "CsvRows", "NotAHeader", "Stream", "StreamError", "csv_value", "main"]
