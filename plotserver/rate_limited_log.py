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
