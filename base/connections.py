"""Open connections of a process, counted for both doors (the main port's protocol,
plotserver/http.py, and the stream listener), and the JSON answer that refuses one (its body
is base/refusals.py's).

Loaded by uvicorn before the application, so before Django is set up: settings are read only
when a connection comes.
"""

from __future__ import annotations

import json
import logging
import resource
from collections import Counter
from http import HTTPStatus

from django.conf import settings

from base import metrics
from base.rate_limited_log import RateLimitedLog
from base.refusals import refusal_body

log = logging.getLogger("plotserver.http")

# What the process needs beside client connections: database, Redis, log and static files.
RESERVED_DESCRIPTORS = 100


def json_answer(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 response with the JSON refusal body (base/refusals.py, its `error`
    key included) that closes the connection."""
    body = json.dumps(refusal_body(message, with_error=True)).encode()
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
            metrics.LIMIT_HITS.labels("connections").inc()
            return 503, "the server has too many open connections: retry later"
        per_client = settings.HTTP_MAX_CONNECTIONS_PER_CLIENT
        # A client without an address (a Unix socket: a local proxy) is not capped as one client.
        if per_client and client and self.by_client[client] >= per_client:
            self.log.warning(
                "client", f"refusing connections from {client}: {per_client} open (HTTP_MAX_CONNECTIONS_PER_CLIENT)"
            )
            metrics.LIMIT_HITS.labels("connections_per_client").inc()
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
