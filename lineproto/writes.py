"""A write's points into the one ingest core: each series' lines as one finite stream of its token.

The core does the rest as for any producer's stream (streaming/ingest.py): it parses each line,
applies it to the trace's window, numbers it, sends it to viewers, stores it (the answer waits
for the commit), keeps history, counts accepted and rejected lines on the token, and paces the
token. A series' stream is opened without taking over: when another write (or another process)
holds it, this one waits for it, up to LINEPROTO_SERIES_WAIT.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from django.conf import settings

from streaming.answers import Outcome
from streaming.committer import OUTAGE_ERRORS
from streaming.ingest import Reader, StreamSession
from streaming.leases import Held
from streaming.pipeline import get_pipeline

# The first pause before a series held by another process is tried again; it doubles up to the last.
FIRST_PAUSE = 0.02
LAST_PAUSE = 0.5


@dataclass(slots=True)
class SeriesWrite:
    """One series' share of a write: its stream token, its stream lines, and the line of the body
    each came from (the stream's line i is `body_lines[i - 1]`)."""

    token_id: int
    token: str
    lines: list[bytes]
    body_lines: list[int]


class SeriesBusy(Exception):
    """Another connection held the series' stream for all of LINEPROTO_SERIES_WAIT."""


def one_read(body: bytes) -> Reader:
    """A reader that gives the whole body at once, then its end."""
    pending = [body]

    async def read() -> bytes | None:
        return pending.pop() if pending else None

    return read


async def write_series(write: SeriesWrite, remote_addr: str) -> Outcome:
    """Feed one series' lines through the ingest core as one stream of its token; the stream's
    outcome (accepted and rejected lines, numbered as `write.lines`). SeriesBusy when the stream
    stayed held by another connection."""
    pipeline = await get_pipeline()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.LINEPROTO_SERIES_WAIT
    pause = FIRST_PAUSE
    body = b"\n".join(write.lines) + b"\n"
    while True:
        try:
            opened = await StreamSession.open(write.token, remote_addr, take_over=False)
        except Held:
            left = deadline - loop.time()
            if left <= 0:
                raise SeriesBusy from None
            holder = pipeline.holding_session(write.token_id)
            try:
                if holder is not None:  # a write of this process: it ends when its lines are stored
                    await asyncio.wait_for(holder.closed.wait(), left)
                else:
                    await asyncio.sleep(min(pause, left))
                    pause = min(pause * 2, LAST_PAUSE)
            except TimeoutError:
                pass
            continue
        except OUTAGE_ERRORS:
            return Outcome(503, database_away=True)
        if isinstance(opened, Outcome):
            return opened
        return await opened.run(one_read(body))


@dataclass(slots=True)
class SeriesResult:
    """How one series' share of a write went: the core's outcome, or busy."""

    write: SeriesWrite
    outcome: Outcome | None  # None: SeriesBusy


async def write_all(writes: list[SeriesWrite], remote_addr: str) -> list[SeriesResult]:
    """Every series of a write at once (their streams are independent)."""

    async def one(write: SeriesWrite) -> SeriesResult:
        try:
            return SeriesResult(write, await write_series(write, remote_addr))
        except SeriesBusy:
            return SeriesResult(write, None)

    return list(await asyncio.gather(*(one(write) for write in writes)))
