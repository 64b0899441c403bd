"""The stream control: this process's open streams, and its control channel.

Through the control channel other processes (or this one) take over a token's stream, revoke
it, end it when its plot was deleted, confirm that an old stream has let go, and ask the
process holding a stream to start a run (streaming/runs.py). Each process joins the
channel-layer group of every token it has a stream of (events.stream_group), so that a message
about a token reaches whoever holds it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings

from base.rate_limited_log import RateLimitedLog
from base.timeouts import within
from streaming import events

if TYPE_CHECKING:
    from streaming.ingest import StreamSession

T = TypeVar("T")

log = logging.getLogger("plotserver.streaming")


class StreamControl:
    """The open streams of this process by token, and the messages that reach them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = events.channel_layer()
        self.channel_name = ""
        self._sessions: dict[int, set[StreamSession]] = defaultdict(set)
        self._releases: dict[str, asyncio.Future[None]] = {}
        # Runs asked of another process's stream (start_run), by request id: (number, first seq).
        self._runs: dict[str, asyncio.Future[tuple[int, int]]] = {}
        self._run_tasks: set[asyncio.Task[None]] = set()
        self._failures = RateLimitedLog(log)
        # Tokens whose stream group this process could not join (the channel layer was away):
        # joined again by the lease renewal (`rejoin`); meanwhile its database re-check stands in.
        self._unjoined: set[int] = set()

    async def open_channel(self) -> None:
        """Open the process's control channel."""
        self.channel_name = await self.layer.new_channel("stream-pipeline.")

    def sessions(self) -> list[StreamSession]:
        """Every open stream of this process."""
        return [s for group in self._sessions.values() for s in group]

    def holding(self) -> list[StreamSession]:
        """The open streams that hold their token's row."""
        return [s for s in self.sessions() if s.holding]

    async def register(self, session: StreamSession) -> None:
        sessions = self._sessions[session.token_id]
        sessions.add(session)
        if len(sessions) == 1:
            await self._join(session.token_id)

    async def _join(self, token_id: int) -> None:
        try:
            await self._layer_call(self.layer.group_add(events.stream_group(token_id), self.channel_name))
            self._unjoined.discard(token_id)
        except Exception:
            # The stream goes on: takeover and revocation reach it by the lease renewal's re-check.
            self._unjoined.add(token_id)
            self._failures.warning("join", "the channel layer is away: a stream's control falls back to the database")

    async def rejoin(self) -> None:
        """Join the groups that could not be joined when their stream opened."""
        for token_id in list(self._unjoined):
            if token_id in self._sessions:
                await self._join(token_id)

    async def unregister(self, session: StreamSession) -> None:
        sessions = self._sessions[session.token_id]
        sessions.discard(session)
        if not sessions:
            del self._sessions[session.token_id]
            self._unjoined.discard(session.token_id)
            try:
                await self._layer_call(
                    self.layer.group_discard(events.stream_group(session.token_id), self.channel_name)
                )
            except Exception:
                self._failures.warning("leave", "the channel layer is away: could not leave a stream's group")

    async def _layer_call(self, call: Awaitable[T]) -> T:
        """One channel-layer call, given CHANNEL_LAYER_TIMEOUT to answer."""
        return await within(call, settings.CHANNEL_LAYER_TIMEOUT)

    async def take_over(self, token_id: int, session_id: str) -> bool:
        """Ask whoever holds the token's stream to let go; True once it has.

        The new connection holds the token's row already (leases.mark_connected). A holder in
        this process is told directly; one elsewhere by message, and if the message cannot go
        (the channel layer is away), by its own lease renewal, which sees within a few seconds
        that the row names another holder. False then: numbering jumps as after a crash."""
        released = self._releases[session_id] = self.loop.create_future()
        try:
            local = [s for s in self._sessions.get(token_id, ()) if s.session_id != session_id and s.holding]
            if local:
                for session in local:
                    session.kick(409, taken_over_by=(session_id, self.channel_name))
            else:
                await self._layer_call(events.request_takeover(token_id, session_id, self.channel_name))
            await within(released, settings.STREAM_TAKEOVER_TIMEOUT)
            return True
        except TimeoutError:
            return False
        except Exception:
            self._failures.warning("takeover", "the channel layer is away: the old stream ends by its lease check")
            return False
        finally:
            self._releases.pop(session_id, None)

    async def confirm_released(self, reply_to: str, by: str) -> None:
        """Tell the connection that took over (`by`, waiting on channel `reply_to`) that the old
        stream let go; directly when it waits in this process."""
        if reply_to == self.channel_name:
            future = self._releases.get(by)
            if future is not None and not future.done():
                future.set_result(None)
            return
        try:
            await self._layer_call(events.confirm_released(reply_to, by))
        except Exception:
            self._failures.warning("release", "the channel layer is away: a takeover's confirmation was not sent")

    def holding_session(self, token_id: int) -> StreamSession | None:
        """This process's open stream of the token, if it holds it."""
        return next((s for s in self._sessions.get(token_id, ()) if s.holding and s.kicked is None), None)

    async def ask_holder_to_start_run(self, token_id: int, name: str) -> tuple[int, int]:
        """Have the process holding the token's stream start a run as its next update; the run's
        number and first sequence number once stored. TimeoutError past RUN_START_TIMEOUT."""
        request = uuid.uuid4().hex
        started: asyncio.Future[tuple[int, int]] = self.loop.create_future()
        self._runs[request] = started
        try:
            async with asyncio.timeout(settings.RUN_START_TIMEOUT):
                await events.request_run(token_id, name, request, self.channel_name)
                return await started
        finally:
            self._runs.pop(request, None)

    async def _start_run_asked(self, message: dict[str, Any]) -> None:
        session = self.holding_session(message["token_id"])
        if session is None:  # it ended meanwhile: the asking request times out and says so
            return
        number, first_seq = await session.start_run(message["name"])
        try:
            await self._layer_call(events.confirm_run(message["reply_to"], message["request"], number, first_seq))
        except Exception:
            self._failures.warning("run", "the channel layer is away: a started run was not confirmed")

    async def run(self) -> None:
        """The control loop: each message on the control channel, as it comes."""
        while True:
            message = await self.layer.receive(self.channel_name)
            kind = message.get("type")
            if kind == "stream.takeover":
                for session in list(self._sessions.get(message["token_id"], ())):
                    if session.session_id != message["by"]:
                        session.kick(409, taken_over_by=(message["by"], message["reply_to"]))
            elif kind == "stream.revoke":
                for session in list(self._sessions.get(message["token_id"], ())):
                    session.kick(410)
            elif kind == "stream.plot_deleted":
                for session in list(self._sessions.get(message["token_id"], ())):
                    session.kick(410, plot_deleted=True)
            elif kind == "stream.released":
                future = self._releases.get(message["by"])
                if future is not None and not future.done():
                    future.set_result(None)
            elif kind == "stream.run":
                task = asyncio.create_task(self._start_run_asked(message))
                self._run_tasks.add(task)
                task.add_done_callback(self._run_tasks.discard)
            elif kind == "stream.run_started":
                started = self._runs.get(message["request"])
                if started is not None and not started.done():
                    started.set_result((message["number"], message["first_seq"]))
