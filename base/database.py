"""PostgreSQL connections as the pool makes them, and whether the last attempt reached the server.

A request that waits out DATABASE_POOL_TIMEOUT without a connection was refused for one of two
reasons, and is told which: every connection is in use (the pool is full and the database
answers), or none can be made (the pool keeps trying, each attempt fails: an outage).
"""

from __future__ import annotations

import time
from typing import Any

import psycopg


class Reachability:
    """When a new connection to the database last succeeded, and when one last failed."""

    def __init__(self) -> None:
        self.last_success = 0.0
        self.last_failure = 0.0

    def failing(self) -> bool:
        """True while the newest connection attempt failed."""
        return self.last_failure > self.last_success


reachability = Reachability()


class TrackedConnection(psycopg.Connection[Any]):
    """The pool's connection class (settings: OPTIONS["pool"]["connection_class"]): a psycopg
    connection whose every opening is noted in `reachability`."""

    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> TrackedConnection:
        try:
            connection = super().connect(*args, **kwargs)
        except psycopg.OperationalError:
            reachability.last_failure = time.monotonic()
            raise
        reachability.last_success = time.monotonic()
        return connection
