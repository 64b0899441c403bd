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
  address 429, each with a short JSON body, then closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from plotserver.rate_limited_log import RateLimitedLog


def count_refusal(limit: str) -> None:
    """Count a refused connection in the metrics (imported here: uvicorn loads this module
    before the application, so before Django is set up)."""
    from operations import metrics

    metrics.LIMIT_HITS.labels(limit).inc()


log = logging.getLogger("plotserver.http")

# What the process needs beside client connections: database, Redis, log and static files.
RESERVED_DESCRIPTORS = 100


def json_answer(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 response with a JSON error body that closes the connection."""
    body = json.dumps({"error": message}).encode()
    return (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class ConnectionLimits:
    """Open connections of this process, by client address, for both doors."""

    def __init__(self) -> None:
        self.total = 0
        self.by_client: Counter[str] = Counter()
        # Refused connections still waiting for their request, to be answered 503/429.
        self.refusing = 0
        self.log = RateLimitedLog(log)

    @property
    def max_total(self) -> int:
        if settings.HTTP_MAX_CONNECTIONS:
            return settings.HTTP_MAX_CONNECTIONS
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return max(16, soft - RESERVED_DESCRIPTORS)

    def admit(self, client: str) -> tuple[int, str] | None:
        """Count a new connection in, or return the (status, message) to refuse it with."""
        if self.total >= self.max_total:
            self.log.warning("busy", f"refusing connections: {self.total} open (HTTP_MAX_CONNECTIONS)")
            count_refusal("connections")
            return 503, "the server has too many open connections: retry later"
        per_client = settings.HTTP_MAX_CONNECTIONS_PER_CLIENT
        # A client without an address (a Unix socket: a local proxy) is not capped as one client.
        if per_client and client and self.by_client[client] >= per_client:
            self.log.warning(
                "client", f"refusing connections from {client}: {per_client} open (HTTP_MAX_CONNECTIONS_PER_CLIENT)"
            )
            count_refusal("connections_per_client")
            return 429, "too many open connections from your address: close some and retry"
        self.total += 1
        self.by_client[client] += 1
        return None

    def release(self, client: str) -> None:
        """Count a connection admitted by `admit` out."""
        self.total -= 1
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]


connection_limits = ConnectionLimits()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with first-byte, header and body timeouts and connection caps."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.client_host = self.client[0] if self.client else ""
        self.refusal = connection_limits.admit(self.client_host)
        self.admitted = self.refusal is None
        self.refusing = False
        self.deadline: asyncio.TimerHandle | None = None
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

    # Parser callbacks (httptools calls them by name).

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._set_deadline(settings.HTTP_HEADER_TIMEOUT, self._header_timeout)

    def on_headers_complete(self) -> None:
        self._clear_deadline()
        if self.refusal is not None:
            status, message = self.refusal
            self.refusal = None
            self._answer_and_close(status, message)
            return
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope and not self._is_stream():
            self._set_deadline(settings.HTTP_BODY_TIMEOUT, self._body_timeout)

    def on_body(self, body: bytes) -> None:
        if self.cycle is None or self.cycle.scope is not self.scope:
            return  # refused, or a socket upgrade: nothing to collect
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._clear_deadline()
        if self.cycle is None or self.cycle.scope is not self.scope:
            return
        super().on_message_complete()

    def _is_stream(self) -> bool:
        # A stream is a POST with a stream token; its body is meant to stay open (ingest's idle timeout).
        return self.scope.get("method") == "POST" and any(name == b"plotly-streamtoken" for name, _ in self.headers)

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
