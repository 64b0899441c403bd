"""A log that repeats itself at most once an interval: one line per kind of failure, with a count.

A fault that recurs many times a second (a channel layer away, a flood of refused connections)
must not flood the log, yet the operator must see that it goes on and how often.
"""

from __future__ import annotations

import logging
import time
from collections import Counter


class RateLimitedLog:
    """Logs one warning per kind per interval, with how many were folded into it."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self.last: dict[str, float] = {}
        self.folded: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now - self.last.get(kind, -self.interval) < self.interval:
            self.folded[kind] += 1
            return
        folded = self.folded.pop(kind, 0)
        self.last[kind] = now
        suffix = f" ({folded} more since the last such line)" if folded else ""
        self.logger.warning("%s%s", message, suffix, exc_info=exc_info)


class RateLimitFilter(logging.Filter):
    """A logging filter for other libraries' loggers: one record per logger and message per
    interval, the rest counted into the next one that passes."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.interval = interval
        self.last: dict[tuple[str, str], float] = {}
        self.folded: Counter[tuple[str, str]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        if now - self.last.get(key, -self.interval) < self.interval:
            self.folded[key] += 1
            return False
        self.last[key] = now
        folded = self.folded.pop(key, 0)
        if folded:
            record.msg = f"{record.msg} ({folded} more since the last such line)"
        return True
