"""Who watches the batches this process commits: a registry the layers above fill in
`AppConfig.ready()` (alerts/apps.py), so that the live side imports none of them.

A watcher is called on the event loop once a group commit stored its chunks, with the chunks
and the commit's time: once a batch, never once a line. It must be quick (a look-up per plot of
the batch when nothing watches that plot) and hand any I/O to a thread or task of its own; an
exception it raises is logged and costs the stream nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from base.rate_limited_log import RateLimitedLog
from streaming.stream_state import Chunk

log = logging.getLogger("plotserver.streaming")
_failures = RateLimitedLog(log)

BatchWatcher = Callable[[list[Chunk], datetime], None]

_watchers: dict[str, BatchWatcher] = {}


def watch_batches(name: str, watcher: BatchWatcher) -> None:
    """Call `watcher` with every batch committed from now on (once per name)."""
    _watchers[name] = watcher


def tell_watchers(chunks: list[Chunk], now: datetime) -> None:
    for name, watcher in list(_watchers.items()):
        try:
            watcher(chunks, now)
        except Exception:
            _failures.warning(f"watcher-{name}", f"the batch watcher {name} failed", exc_info=True)
