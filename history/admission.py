"""Heavy reads are admitted, not piled up: a history range read or download holds a place of
its process while it runs, at most HISTORY_READS_PER_PROCESS at once and
HISTORY_READS_PER_CLIENT of one client (a signed-in user, or an anonymous address). A read
beyond either is answered at once (503 or 429, with Retry-After) instead of waiting: the memory
and database time of reads in flight stay bounded, and everyone else's requests stay fast.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import APIException

from base import metrics

# Seconds a refused reader is asked to wait: a read in flight takes a second or a few.
RETRY_AFTER = 2


class ReadRefused(APIException):
    """No place for another heavy read: 503 for the process, 429 for one client."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.wait = RETRY_AFTER  # DRF's exception handler sends it as Retry-After


class Places:
    """The places of this process's heavy reads, in all and by client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.taken = 0
        self.by_client: Counter[str] = Counter()

    def take(self, client: str) -> Place:
        with self._lock:
            if self.by_client[client] >= settings.HISTORY_READS_PER_CLIENT:
                metrics.LIMIT_HITS.labels("history_reads_per_client").inc()
                raise ReadRefused(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    f"You have {settings.HISTORY_READS_PER_CLIENT} history reads running, the most one client may"
                    " (HISTORY_READS_PER_CLIENT): wait for one to end.",
                )
            if self.taken >= settings.HISTORY_READS_PER_PROCESS:
                metrics.LIMIT_HITS.labels("history_reads").inc()
                raise ReadRefused(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    f"The server is running {settings.HISTORY_READS_PER_PROCESS} history reads, its most at once"
                    " (HISTORY_READS_PER_PROCESS): try again in a moment.",
                )
            self.taken += 1
            self.by_client[client] += 1
        return Place(self, client)

    def give_back(self, client: str) -> None:
        with self._lock:
            self.taken -= 1
            self.by_client[client] -= 1
            if self.by_client[client] <= 0:
                del self.by_client[client]


class Place:
    """One admitted read's place, given back once (by `with`, or by `release`)."""

    def __init__(self, places: Places, client: str) -> None:
        self.places = places
        self.client = client
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.places.give_back(self.client)

    def __enter__(self) -> Place:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def holding(self, pages: Iterator[bytes]) -> Iterator[bytes]:
        """The pages of a download, the place given back when they end, or when they are let go
        unread or half read (a client gone, a response never sent): a generator closed before
        its first page never runs its `finally`, so the place also goes back once it is freed."""
        held = self._holding(pages)
        weakref.finalize(held, self.release)
        return held

    def _holding(self, pages: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from pages
        finally:
            self.release()


PLACES = Places()


def admit(request: HttpRequest) -> Place:
    """A place for this request's heavy read, or ReadRefused (429 or 503)."""
    user = getattr(request, "user", None)
    client = f"user {user.pk}" if user is not None and user.is_authenticated else request.META.get("REMOTE_ADDR", "")
    return PLACES.take(client)
