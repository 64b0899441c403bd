"""The stream listener on STREAM_PORT: a front door built for the requests Plotly's clients send.

Plotly's Python client sends two `Host` headers and ends its body with a stray `\\r\\n` before
the last chunk. uvicorn (like every mainstream HTTP parser) rejects that terminator, and drops
body bytes that came in the same read, so the client's last write would be lost. This listener
reads exactly one streaming request per connection, leniently:

- request line and headers: duplicates allowed, names case-insensitive;
- body: chunked (empty size lines skipped, extensions and trailers ignored), Content-Length,
  or, with neither, everything until the client shuts its side;
- one answer (JSON, like the main port's), then close.

It feeds the same ingest core (streaming/ingest.py) as the ASGI door on the main port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from http import HTTPStatus

from django.conf import settings

from base.connections import connection_limits, json_answer
from base.timeouts import within
from streaming.answers import Outcome
from streaming.doors import serve_stream
from streaming.ingest import ConnectionLost, FramingError, Reader

log = logging.getLogger("plotserver.streaming")

MAX_HEAD_BYTES = 64 * 1024
MAX_SIZE_LINE = 1024
READ_SIZE = 64 * 1024


class BadRequest(Exception):
    pass


class HeadTimeout(Exception):
    pass


class StreamListener:
    """The listening socket and the connections it is serving."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection is served in a task of its own
        self.connections.add(task)
        client = str((writer.get_extra_info("peername") or ("",))[0])
        refusal = connection_limits.admit(client)  # the same caps as the main port, shared
        try:
            if refusal is None:
                await handle_connection(reader, writer)
            else:
                await refuse_connection(reader, writer, *refusal)
        finally:
            if refusal is None:
                connection_limits.release(client)
            self.connections.discard(task)

    async def close(self, timeout: float = 10) -> None:
        """Stop accepting, and give open streams (already told to end) time to answer."""
        if self.server is not None:
            self.server.close()
        if self.connections:
            await asyncio.wait(list(self.connections), timeout=timeout)


async def start_listener(host: str, port: int) -> StreamListener:
    """Listen on host:port with SO_REUSEPORT, so every worker process can share the port."""
    listener = StreamListener()
    listener.server = await asyncio.start_server(
        listener._serve, host, port, reuse_port=hasattr(socket, "SO_REUSEPORT"), limit=MAX_HEAD_BYTES
    )
    log.info("stream listener on %s:%d", host, port)
    return listener


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """Read the request line and headers. Returns (method, headers with lower-case names).

    The first byte must come within HTTP_FIRST_BYTE_TIMEOUT (else ConnectionLost: closed without
    an answer), the rest of the head within HTTP_HEADER_TIMEOUT (else HeadTimeout: 408)."""
    try:
        first = await within(reader.read(1), settings.HTTP_FIRST_BYTE_TIMEOUT)
    except TimeoutError:
        raise ConnectionLost from None
    if not first:
        raise ConnectionLost
    try:
        head = first + await within(reader.readuntil(b"\r\n\r\n"), settings.HTTP_HEADER_TIMEOUT)
    except TimeoutError:
        raise HeadTimeout from None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    except asyncio.IncompleteReadError:
        raise ConnectionLost from None
    return parse_head(head)


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest("malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise BadRequest("malformed header line")
        # A repeated header (Plotly's client sends Host twice) keeps its first value.
        headers.setdefault(name.strip().lower(), value.strip())
    return parts[0].upper(), headers


def body_reader(reader: asyncio.StreamReader, headers: dict[str, str]) -> Reader:
    """The body as an async `read()` returning bytes, or None at its clean end."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return ChunkedBody(reader).read
    if "content-length" in headers:
        try:
            remaining = int(headers["content-length"])
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if remaining < 0:
            raise BadRequest("Content-Length is negative")

        async def read_sized() -> bytes | None:
            nonlocal remaining
            if remaining == 0:
                return None
            data = await reader.read(min(remaining, READ_SIZE))
            if not data:
                raise ConnectionLost
            remaining -= len(data)
            return data

        return read_sized

    async def read_to_eof() -> bytes | None:
        data = await reader.read(READ_SIZE)
        return data or None

    return read_to_eof


class ChunkedDecoder:
    """A lenient, incremental chunked decoder (no I/O: feed it bytes, get the payload back).

    It skips empty size lines, such as the stray CRLF of Plotly's Python client before its
    last chunk, and ignores chunk extensions and trailers.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.state = "size"
        self.remaining = 0
        self.done = False
        self.broken = False

    def _line(self) -> bytes | None:
        end = self.buffer.find(b"\n")
        if end == -1:
            if len(self.buffer) > MAX_SIZE_LINE:
                raise FramingError
            return None
        line = bytes(self.buffer[:end]).strip()
        del self.buffer[: end + 1]
        return line

    def feed(self, data: bytes) -> bytes:
        """Take more of the body; return the payload bytes it completes (maybe none).

        Broken framing sets `broken`, after returning the payload decoded before the break.
        """
        self.buffer += data
        out = bytearray()
        try:
            self._decode(out)
        except FramingError:
            self.broken = True
        return bytes(out)

    def _decode(self, out: bytearray) -> None:
        while not self.done:
            if self.state == "data":
                taken = self.buffer[: self.remaining]
                out += taken
                del self.buffer[: len(taken)]
                self.remaining -= len(taken)
                if self.remaining:
                    break
                self.state = "end of chunk"
                continue
            line = self._line()
            if line is None:
                break
            if self.state == "end of chunk":
                if line:
                    raise FramingError  # the chunk was longer than its size said
                self.state = "size"
            elif self.state == "size":
                if not line:
                    continue
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise FramingError from None
                if size < 0:
                    raise FramingError
                self.state, self.remaining = ("trailers", 0) if size == 0 else ("data", size)
            elif not line:  # the blank line after the trailers
                self.done = True


class ChunkedBody:
    """A chunked body read from a connection, as many chunks at a time as have arrived."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.decoder = ChunkedDecoder()

    async def read(self) -> bytes | None:
        while not self.decoder.done:
            if self.decoder.broken:
                raise FramingError
            data = await self.reader.read(READ_SIZE)
            if not data:
                raise ConnectionLost
            payload = self.decoder.feed(data)
            if payload:
                return payload
        return None


async def refuse_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, message: str
) -> None:
    """Answer a connection over the caps once its head is in (within the header timeout), then close."""
    try:
        await within(reader.readuntil(b"\r\n\r\n"), settings.HTTP_HEADER_TIMEOUT)
        writer.write(json_answer(status, message))
        await within(writer.drain(), settings.HTTP_HEADER_TIMEOUT)
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def handle_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    peer = writer.get_extra_info("peername") or ("", 0)
    remote_addr = str(peer[0])
    answer = None
    try:
        outcome = await serve_request(reader, remote_addr)
    except (ConnectionLost, ConnectionError):
        outcome = None
    except HeadTimeout:
        outcome = None
        answer = json_answer(408, f"request headers not complete within {settings.HTTP_HEADER_TIMEOUT:g} s")
    except BadRequest as exc:
        log.info("stream listener: bad request from %s: %s", remote_addr, exc)
        outcome = Outcome(400)
    except Exception:
        log.exception("stream listener: request from %s failed", remote_addr)
        outcome = None
    try:
        if outcome is not None:
            answer = answer_bytes(outcome)
        if answer is not None:
            writer.write(answer)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve_request(reader: asyncio.StreamReader, remote_addr: str) -> Outcome | None:
    """Read the head, then follow `serve_stream`'s rules; the body is read leniently (body_reader)."""
    method, headers = await read_head(reader)
    return await serve_stream(method, headers, remote_addr, lambda: body_reader(reader, headers))


def answer_bytes(outcome: Outcome) -> bytes:
    body = json.dumps(outcome.as_json()).encode()
    reason = HTTPStatus(outcome.status).phrase if outcome.status in HTTPStatus._value2member_map_ else ""
    headers = "".join(f"{name}: {value}\r\n" for name, value in outcome.headers())
    head = f"HTTP/1.1 {outcome.status} {reason}\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body
