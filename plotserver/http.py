"""Timeouts and connection caps for both doors: uvicorn's httptools protocol, guarded.

Serve with `uvicorn plotserver.asgi:application --http plotserver.http:GuardedHttpToolsProtocol`.
It is uvicorn's own httptools protocol (so Plotly's duplicate `Host` header still parses) with:

- a first-byte timeout: a connection that sends nothing within HTTP_FIRST_BYTE_TIMEOUT is closed;
- a header timeout: a request's line and headers complete within HTTP_HEADER_TIMEOUT of its
  first byte, or the client gets 408 and the connection closes (slowloris);
- a body timeout: a request body (other than a stream's) completes within HTTP_BODY_TIMEOUT of
  its headers, or 408 and close. A stream's body is slow on purpose: the ingest core ends it
  after STREAM_IDLE_TIMEOUT without a byte;
- connection caps, shared with the stream listener: beyond HTTP_MAX_CONNECTIONS open connections
  in this process a new one is answered 503, beyond HTTP_MAX_CONNECTIONS_PER_CLIENT from one
  address 429, each with a short JSON body, then closed;
- a board's `/clientresp` read to its end: Plotly's Arduino library computes its Content-Length
  from a formula that counts a 10-character API key (and, in some versions, leaves a field out),
  so the bytes past it are the body's, not a next request (BOARD_FORM_PATH, below).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httptools
from django.conf import settings
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from base.connections import connection_limits, json_answer
from base.rate_limited_log import RateLimitedLog
from core.stream_requests import is_stream

log = logging.getLogger("plotserver.http")

# A text message longer than this many characters (a snapshot of a large window) leaves in
# fragments of this size, each written only once the socket has taken the one before: what a
# socket's buffer holds is one fragment (at most 4 bytes a character) and the transport's
# high-water mark (64 KiB), whatever the message's size.
FRAGMENT_CHARACTERS = 32 * 1024

# The request of Plotly's boards (the Arduino library and its kin): POST /clientresp with a
# Content-Length and no Content-Type, its form ending in a CRLF. Its Content-Length comes from a
# formula that assumes a 10-character API key and, in some versions, leaves `world_readable` out;
# the CRLF is never counted. So its body runs to that CRLF, read past the Content-Length: at most
# BOARD_TAIL_BYTES past it, and for at most CLIENTRESP_TAIL_TIMEOUT after the counted bytes (then
# the body is what came). Only the first request of a connection is read so (a board opens a
# connection for it), and the connection closes after the answer, as the board expects.
BOARD_FORM_PATH = "/clientresp"
# The library's count falls short by its key's length past 10 and a field or two: tens of bytes.
BOARD_TAIL_BYTES = 4096


class BodyGoesOn(Exception):
    """Raised from a parser callback to stop the parser at the end of a board's counted body:
    the bytes after it are more of that body, not a request."""


class GuardedWebSocketsProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with its buffer bounded in bytes and in time.

    In bytes: a long text message is sent in fragments (FRAGMENT_CHARACTERS), the next one only
    once the transport has taken the last, so a client that stops reading holds at most a
    fragment and the transport's high-water mark in the server, not the whole message.

    In time: a socket whose send buffer stays full for twice VIEWER_SEND_TIMEOUT (its client
    takes nothing: a snapshot of a multi-megabyte window, or updates piling up) is dropped at
    once and its memory released. The viewer's own close (4408, at VIEWER_SEND_TIMEOUT) comes
    first, cancels the message in flight, and reaches a client that reads again in time; one that
    does not would keep the socket open for ever, its close frame waiting behind data it never
    takes."""

    stalled_log = RateLimitedLog(log)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.stalled: asyncio.TimerHandle | None = None
        self.cut_off = False
        super().connection_made(transport)

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "websocket.send" and self.cut_off:
            # A message was cut off mid-way (its sender cancelled): no other can follow it on
            # this socket, only its close.
            raise ClientDisconnected()
        text = message.get("text") if message["type"] == "websocket.send" else None
        if not isinstance(text, str) or len(text) <= FRAGMENT_CHARACTERS or not self.handshake_complete:
            await super().send(message)
            return
        last = len(text) - FRAGMENT_CHARACTERS
        self.cut_off = True  # until its last fragment is written
        for start in range(0, len(text), FRAGMENT_CHARACTERS):
            await self.writable.wait()
            if self.disconnected or self.close_sent:
                raise ClientDisconnected()
            piece = text[start : start + FRAGMENT_CHARACTERS].encode()
            try:
                if start == 0:
                    self.conn.send_text(piece, fin=False)
                else:
                    self.conn.send_continuation(piece, fin=start >= last)
            except InvalidState:
                raise ClientDisconnected() from None
            self.transport.write(b"".join(self.conn.data_to_send()))
        self.cut_off = False

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.stalled is None:
            self.stalled = self.loop.call_later(2 * settings.VIEWER_SEND_TIMEOUT, self._drop_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._clear_stalled()

    def connection_lost(self, exc: Exception | None) -> None:
        self._clear_stalled()
        super().connection_lost(exc)

    def _clear_stalled(self) -> None:
        if self.stalled is not None:
            self.stalled.cancel()
            self.stalled = None

    def _drop_stalled(self) -> None:
        self.stalled = None
        waited = 2 * settings.VIEWER_SEND_TIMEOUT
        message = f"dropping a socket that took nothing for {waited:g} s (2 x VIEWER_SEND_TIMEOUT)"
        self.stalled_log.warning("stalled", message)
        self.transport.abort()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with first-byte, header and body timeouts and connection caps."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.ws_protocol_class is WebSocketsSansIOProtocol:  # uvicorn's default (--ws auto)
            self.ws_protocol_class = GuardedWebSocketsProtocol
        self.client_host = self.client[0] if self.client else ""
        self.refusal = connection_limits.admit(self.client_host)
        self.admitted = self.refusal is None
        self.refusing = False
        self.deadline: asyncio.TimerHandle | None = None
        # Where the parser is in the current read, for a board's body read past its count.
        self.read = self.read_before = b""
        self.head_in_read = False
        self.body_in_read = 0
        self.board_form = False
        self.body_end = b""  # a board form's last two bytes so far
        self.messages = 0
        self.board_tail: bytearray | None = None  # a board's body past its count, until its CRLF
        self.board_done = False
        if self.refusal:
            if connection_limits.refusing >= connection_limits.max_total:
                # Far past the cap: no descriptor to spare on waiting for a request to refuse.
                transport.abort()
                return
            # Answered once its request head is in: a reply before the request may be lost to a reset.
            self.refusing = True
            connection_limits.refusing += 1
        self._set_deadline(settings.HTTP_FIRST_BYTE_TIMEOUT, self._close_silently)

    def connection_lost(self, exc: Exception | None) -> None:
        self._clear_deadline()
        self._release()
        super().connection_lost(exc)

    def _release(self) -> None:
        if self.admitted:
            self.admitted = False
            connection_limits.release(self.client_host)
        if self.refusing:
            self.refusing = False
            connection_limits.refusing -= 1

    def _set_deadline(self, delay: float, callback: Callable[[], None]) -> None:
        self._clear_deadline()
        self.deadline = self.loop.call_later(delay, callback)

    def _clear_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _close_silently(self) -> None:
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _answer_and_close(self, status: int, message: str, cycle: RequestResponseCycle | None = None) -> None:
        """Answer `status` (unless `cycle`, the request's, has begun its response) and close."""
        self.deadline = None
        if self.transport.is_closing():
            return
        if cycle is None or not cycle.response_started:
            self.transport.write(json_answer(status, message))
        if cycle is not None and not cycle.response_complete:
            # The application sees a disconnect and writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _header_timeout(self) -> None:
        self._answer_and_close(408, f"request headers not complete within {settings.HTTP_HEADER_TIMEOUT:g} s")

    def _body_timeout(self) -> None:
        message = f"request body not complete within {settings.HTTP_BODY_TIMEOUT:g} s"
        self._answer_and_close(408, message, cycle=self.cycle)

    def data_received(self, data: bytes) -> None:
        """uvicorn's: the parser fed, a parse error answered 400, an upgrade handed over; but a
        board's body goes on past its Content-Length (BOARD_FORM_PATH)."""
        if self.board_tail is not None:
            if not self.board_done:  # after its body, the board sends nothing that is read
                self._extend_board_body(data)
            return
        self.read, self.head_in_read, self.body_in_read = data, False, 0
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self.board_tail is not None:  # BodyGoesOn: the rest of this read is the body's
                self._extend_board_body(self._after_message())
                return
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
        finally:
            self.read_before, self.read = data[-3:], b""  # a connection holds no read between reads

    def _after_message(self) -> bytes:
        """The bytes of the current read after the request whose body just completed."""
        if not self.head_in_read:  # the read began inside the body
            return self.read[self.body_in_read :]
        seen = self.read_before + self.read  # the head's blank line may straddle two reads
        body = self.cycle.body
        start = seen.find(b"\r\n\r\n" + body)
        return seen[start + 4 + len(body) :] if start >= 0 else b""

    def _extend_board_body(self, data: bytes) -> None:
        tail = self.board_tail
        assert tail is not None
        room = BOARD_TAIL_BYTES - len(tail)
        searched = max(len(tail) - 1, 0)  # a CR may end the bytes before
        tail += data[:room]
        end = tail.find(b"\r\n", searched)
        if end >= 0:
            del tail[end + 2 :]
            self._end_board_body()
        elif len(data) >= room:
            self._end_board_body()  # at the bound: the application answers what came

    def _end_board_body(self) -> None:
        self._clear_deadline()
        if self.board_done or self.board_tail is None:
            return
        self.board_done = True
        cycle = self.cycle
        cycle.body += bytes(self.board_tail)
        cycle.keep_alive = False
        cycle.more_body = False
        cycle.message_event.set()

    # Parser callbacks (httptools calls them by name).

    def on_message_begin(self) -> None:
        self.messages += 1
        super().on_message_begin()
        self._set_deadline(settings.HTTP_HEADER_TIMEOUT, self._header_timeout)

    def on_headers_complete(self) -> None:
        self._clear_deadline()
        if self.refusal is not None:
            status, message = self.refusal
            self.refusal = None
            self._answer_and_close(status, message)
            return
        self.head_in_read = True
        super().on_headers_complete()
        self.board_form = False
        if self.cycle is not None and self.cycle.scope is self.scope and not self._is_stream():
            self._set_deadline(settings.HTTP_BODY_TIMEOUT, self._body_timeout)
            self.board_form = self._is_board_form()

    def on_body(self, body: bytes) -> None:
        if self.cycle is None or self.cycle.scope is not self.scope:
            return  # refused, or a socket upgrade: nothing to collect
        self.body_in_read += len(body)
        if self.board_form:
            self.body_end = (self.body_end + body)[-2:]
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._clear_deadline()
        if self.cycle is None or self.cycle.scope is not self.scope:
            return
        if self.board_form and self.body_end != b"\r\n":
            # Its counted bytes are in, its CRLF not yet: the bytes after are still its body.
            self.board_tail = bytearray()
            self._set_deadline(settings.CLIENTRESP_TAIL_TIMEOUT, self._end_board_body)
            raise BodyGoesOn()
        super().on_message_complete()

    def _is_board_form(self) -> bool:
        if self.messages != 1 or self.scope.get("method") != "POST" or self.scope.get("path") != BOARD_FORM_PATH:
            return False
        headers = dict(self.headers)  # names in lower case (uvicorn's)
        length = headers.get(b"content-length", b"")
        return b"content-type" not in headers and length.isdigit() and int(length) > 0

    def _is_stream(self) -> bool:
        # A stream's body is meant to stay open (ingest's idle timeout), whichever form names its
        # token: the router's own rule.
        return is_stream(self.scope)

    def handle_websocket_upgrade(self) -> None:
        """Hand over to the WebSocket protocol, keeping the connection counted until it closes."""
        self._clear_deadline()
        if self.transport.is_closing():
            return  # refused
        super().handle_websocket_upgrade()
        socket_protocol = self.transport.get_protocol()
        socket_connection_lost = socket_protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            self._release()
            socket_connection_lost(exc)

        socket_protocol.connection_lost = connection_lost  # type: ignore[method-assign]
