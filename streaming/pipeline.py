"""The per-process pipeline of open streams: number, publish at once, commit back to back.

Each open stream has a writer (streaming/stream_state.py) that numbers an accepted update and
applies it to its windows in memory. The pipeline hands the update to the publisher
(streaming/publisher.py), which sends it to its plots' viewers at once, and queues the writer's
pending chunk with the committer (streaming/committer.py), whose group commits run back to back.
The stream control (streaming/stream_control.py) keeps the process's open streams and its control
channel (takeover, revocation, runs across processes); the lease renewal
(streaming/lease_renewal.py) keeps their leases. The pipeline puts these four together for the
doors and the rest of the process, and stops them in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

from django.conf import settings
from django.utils import timezone

from base import metrics
from base.timeouts import within
from core.protocol import Update
from streaming import store
from streaming.committer import MAX_BACKLOG, Committer
from streaming.lease_renewal import LeaseRenewal
from streaming.publisher import Publisher
from streaming.stream_control import StreamControl
from streaming.stream_state import StreamWriter

if TYPE_CHECKING:
    from streaming.ingest import StreamSession

Args = TypeVarTuple("Args")
T = TypeVar("T")


class Pipeline:
    """This process's pipeline: what the doors, runs and lifespan call, over its four parts."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.publisher = Publisher(on_sent=self._check_room)
        self.committer = Committer(
            self.loop, on_backlog_emptied=self._check_room, on_annotations=self.publisher.add_annotations
        )
        self.control = StreamControl(self.loop)
        self.lease_renewal = LeaseRenewal(self.control, self.committer)
        self._room = asyncio.Event()
        self._room.set()
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        self._stop_deadline = 0.0
        self.started: asyncio.Future[None] | None = None

    async def start(self) -> None:
        await self.control.open_channel()
        self._tasks = [
            asyncio.create_task(self.committer.run(), name="plotserver-commit"),
            asyncio.create_task(self.publisher.run(), name="plotserver-publish"),
            asyncio.create_task(self.control.run(), name="plotserver-control"),
            asyncio.create_task(self.lease_renewal.run(), name="plotserver-leases"),
        ]

    @property
    def channel_name(self) -> str:
        """The process's control channel."""
        return self.control.channel_name

    @property
    def abandoned(self) -> bool:
        return self.committer.abandoned

    # -- writers -----------------------------------------------------------------------

    async def open_writer(self, token_id: int, skip: bool = False) -> StreamWriter | None:
        """Load a token's writer (position and windows); `skip` after a writer that crashed."""
        return await self.run_sync(store.load_stream, token_id, timezone.now(), skip)

    def submit(self, writer: StreamWriter, update: Update, size: int = 0) -> asyncio.Future[None]:
        """Number and apply an accepted update (`size` bytes as sent), send it to viewers; return
        its commit's future."""
        # Per line, nothing reads a setting (what one costs: docs/performance.md, "Numbers behind
        # the constants in the code"): the publisher splits the outbox into messages, and room()
        # checks the limits.
        publisher = self.publisher
        for plot_id, message in writer.accept(update):
            publisher.add(plot_id, message, size)
        if writer.by_plot:
            publisher.wake()
        return self.committer.queue(writer, size)

    def reject(self, writer: StreamWriter, line: int, reason: str) -> asyncio.Future[None]:
        """Count a rejected line; return the future of the commit that stores the count."""
        writer.reject(line, reason, timezone.now())
        return self.committer.queue(writer)

    def close_writer(self, writer: StreamWriter) -> asyncio.Future[None]:
        """The stream ended: its last commit also checkpoints its windows."""
        writer.closing = True
        return self.committer.queue(writer)

    async def finish_writer(self, writer: StreamWriter) -> int:
        """Close the writer and wait for its last commit; return how many accepted lines were not
        stored.

        Always 0 but when the server stops and the database stays away past
        STREAM_SHUTDOWN_TIMEOUT: then no further commit is made, and the lines this writer
        accepted after its last stored commit are reported as not stored (never acknowledged)."""
        committed = asyncio.shield(self.close_writer(writer))
        while True:
            if not self.stopping:
                try:
                    await within(asyncio.shield(committed), 1.0)
                    return 0
                except TimeoutError:
                    continue  # the server may begin stopping meanwhile
            try:
                await within(asyncio.shield(committed), self.shutdown_wait_left())
                return 0
            except TimeoutError:
                await self.abandon()
                return writer.seq - writer.committed_seq

    def _check_room(self) -> None:
        full = (
            self.committer.backlog >= MAX_BACKLOG
            or self.committer.backlog_bytes >= settings.STREAM_BACKLOG_BYTES
            or self.publisher.outbox_bytes >= settings.STREAM_PUBLISH_BACKLOG_BYTES
        )
        if full and self._room.is_set():
            metrics.LIMIT_HITS.labels("backpressure").inc()
            self._room.clear()
        elif not full and not self._room.is_set():
            self._room.set()

    async def room(self) -> None:
        """Wait while the commit backlog or the publisher's is full (checked here, once a read,
        not once a line)."""
        self._check_room()
        await self._room.wait()

    async def published(self) -> None:
        """Wait until every accepted update so far was handed to the channel layer."""
        await self.publisher.published()

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        await self.committer.flush()

    async def abandon(self) -> None:
        """Stopping, and the database is away past STREAM_SHUTDOWN_TIMEOUT: no further commit."""
        await self.committer.abandon()

    async def run_sync(self, function: Callable[[*Args], T], *args: *Args) -> T:
        """Run a small database call on the pipeline's thread, in order with the commits."""
        return await self.committer.run_sync(function, *args)

    # -- sessions and control ----------------------------------------------------------

    async def register(self, session: StreamSession) -> None:
        await self.control.register(session)

    async def unregister(self, session: StreamSession) -> None:
        await self.control.unregister(session)

    async def take_over(self, token_id: int, session_id: str) -> bool:
        """Ask whoever holds the token's stream to let go; True once it has."""
        return await self.control.take_over(token_id, session_id)

    async def confirm_released(self, reply_to: str, by: str) -> None:
        """Tell the connection that took over that the old stream let go."""
        await self.control.confirm_released(reply_to, by)

    def holding_session(self, token_id: int) -> StreamSession | None:
        """This process's open stream of the token, if it holds it."""
        return self.control.holding_session(token_id)

    async def ask_holder_to_start_run(self, token_id: int, name: str) -> tuple[int, int]:
        """Have the process holding the token's stream start a run as its next update."""
        return await self.control.ask_holder_to_start_run(token_id, name)

    # -- stopping ----------------------------------------------------------------------

    def shutdown_wait_left(self) -> float:
        """Seconds left of STREAM_SHUTDOWN_TIMEOUT since the server began stopping."""
        return max(0.0, self._stop_deadline - self.loop.time())

    def end_streams(self) -> list[StreamSession]:
        """Answer every open stream 503 "reconnect" (each commits what it accepted first), and
        every stream that opens from now on."""
        if not self.stopping:
            self._stop_deadline = self.loop.time() + settings.STREAM_SHUTDOWN_TIMEOUT
        self.stopping = True
        sessions = self.control.sessions()
        for session in sessions:
            session.kick(503)
        return sessions

    async def shutdown(self) -> None:
        """End every open stream, wait for their last commits, then stop."""
        sessions = self.end_streams()
        if sessions:
            await asyncio.wait(
                [asyncio.ensure_future(s.closed.wait()) for s in sessions], timeout=self.shutdown_wait_left() + 5
            )
        try:
            await within(self.flush(), self.shutdown_wait_left())
        except TimeoutError:
            await self.abandon()
        await self.published()
        for task in self._tasks:
            task.cancel()
        await self.committer.close()


_pipeline: Pipeline | None = None


async def get_pipeline() -> Pipeline:
    """The pipeline of this process (of this event loop: tests run several loops in turn)."""
    global _pipeline
    if _pipeline is None or _pipeline.loop is not asyncio.get_running_loop():
        _pipeline = Pipeline()
        _pipeline.started = asyncio.ensure_future(_pipeline.start())
    assert _pipeline.started is not None
    await _pipeline.started
    return _pipeline
