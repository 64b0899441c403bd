"""Starting a run from outside the stream (POST /api/streams/<id>/runs/), in sequence with it.

A producer starts a run with a line (`{"run": "new"}`, core/protocol.py) where it writes
it. A run the API starts must land between two of the stream's updates just the same, so it
goes through the token's one writer: the process holding the token's open stream submits it as
that stream's next update (asked by a `stream.run` message when that is another process); when
no stream is open, the request opens one of its own through the ingest core, for that one
update, and ends it (viewers see the stream connected for that instant). It never takes a
stream over: a producer that connected meanwhile is asked like any holder, and streams on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from base.timeouts import within
from streaming.ingest import StreamSession
from streaming.leases import Held
from streaming.pipeline import get_pipeline


@dataclass(frozen=True)
class StartedRun:
    number: int
    first_seq: int


class RunNotStarted(Exception):
    """The run could not be started: `status` and a message for the API's answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def start_run(token_id: int, token: str, name: str) -> StartedRun:
    """Start a new run of the stream named `name`; its number and first sequence number once
    the run is stored (RunNotStarted: 404 revoked meanwhile, 503 stopping, 504 not stored
    within RUN_START_TIMEOUT)."""
    pipeline = await get_pipeline()
    try:
        session = pipeline.holding_session(token_id)
        if session is not None:
            return StartedRun(*await within(session.start_run(name), settings.RUN_START_TIMEOUT))
        try:
            opened = await StreamSession.open(token, "api", take_over=False)
        except Held:  # another process holds the stream: it starts the run
            return StartedRun(*await pipeline.ask_holder_to_start_run(token_id, name))
        if not isinstance(opened, StreamSession):
            raise RunNotStarted(opened.status, opened.message)
        try:
            return StartedRun(*await within(opened.start_run(name), settings.RUN_START_TIMEOUT))
        finally:
            await opened.finish(200)
    except TimeoutError:
        raise RunNotStarted(
            504,
            "the run was not confirmed in time (the database is away, or the process holding the stream did not"
            " answer); it may still start: list the runs to see",
        ) from None
