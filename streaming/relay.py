"""The viewer relay: one channel-layer subscription per watched plot per process, not per viewer.

Each process (each event loop) has one relay with one channel. The relay joins the group of
every plot that has viewers in this process and leaves it when the last one goes. It receives
each `plot.updates`, `plot.stream` and `plot.changed` message once, encodes what viewers get
once, and hands the same text to every local viewer of the plot (streaming/viewer.py), which
decides, without encoding anything, whether the shared frame is the next thing it needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import orjson
from django.conf import settings

from streaming import events
from streaming.events import PlotMessage, StreamUpdate
from streaming.viewer_messages import Presence, ServerMessage, Updates

if TYPE_CHECKING:
    from streaming.viewer import ViewerSocket

log = logging.getLogger("plotserver.streaming")


def encode(message: ServerMessage) -> tuple[str, int]:
    """A message as the text of one WebSocket frame, and its size in bytes."""
    data = orjson.dumps(message)
    return data.decode(), len(data)


@dataclass(frozen=True, slots=True)
class Frame:
    """A message encoded once, shared by every viewer that gets it."""

    text: str
    size: int


@dataclass(frozen=True, slots=True)
class UpdateBatch:
    """One `plot.updates` message as viewers need it.

    `items` are (stream key, seq, update); `firsts` and `lasts` the lowest and highest seq per
    stream. `contiguous` says each stream's seqs run without a hole inside the batch, so that a
    viewer holding `firsts[s] - 1` of every stream can take the shared frame as it is.
    """

    items: tuple[tuple[str, int, StreamUpdate], ...]
    firsts: dict[str, int]
    lasts: dict[str, int]
    contiguous: bool
    frame: Frame

    @classmethod
    def of(cls, updates: list[StreamUpdate]) -> UpdateBatch:
        items = tuple((str(u["stream"]), u["seq"], u) for u in updates)
        firsts: dict[str, int] = {}
        lasts: dict[str, int] = {}
        contiguous = True
        for key, seq, _ in items:
            last = lasts.get(key)
            if last is None:
                firsts[key] = seq
            elif seq != last + 1:
                contiguous = False
            lasts[key] = seq
        message: Updates = {"type": "updates", "updates": updates}
        return cls(items, firsts, lasts, contiguous, Frame(*encode(message)))


class PlotRelay:
    """This process's one subscriber to the plot groups of its viewers."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = events.channel_layer()
        self.channel_name = ""
        self.viewers: dict[int, set[ViewerSocket]] = defaultdict(set)
        self._subscribed: set[int] = set()
        # Group membership changes in order, so a leave racing a join never ends unsubscribed.
        self._membership = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self.started: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.channel_name = await self.layer.new_channel("viewer-relay.")
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name="plotserver-relay"),
            asyncio.create_task(self._watchdog_loop(), name="plotserver-relay-watchdog"),
        ]

    @property
    def subscriptions(self) -> set[int]:
        """The plots whose group this process has joined."""
        return set(self._subscribed)

    async def join(self, plot_id: int, viewer: ViewerSocket) -> None:
        """Relay the plot's messages to `viewer` from now on."""
        self.viewers[plot_id].add(viewer)
        async with self._membership:
            if self.viewers.get(plot_id) and plot_id not in self._subscribed:
                await self.layer.group_add(events.plot_group(plot_id), self.channel_name)
                self._subscribed.add(plot_id)

    async def leave(self, plot_id: int, viewer: ViewerSocket) -> None:
        viewers = self.viewers.get(plot_id)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self.viewers[plot_id]
        async with self._membership:
            if not self.viewers.get(plot_id) and plot_id in self._subscribed:
                self._subscribed.discard(plot_id)
                await self.layer.group_discard(events.plot_group(plot_id), self.channel_name)

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except Exception:
                # The layer reconnects by itself; viewers resync on the gap this leaves.
                log.exception("the relay could not receive from the channel layer; retrying")
                await asyncio.sleep(1)
                continue
            try:
                self.dispatch(cast(PlotMessage, message))  # what events.py sent to the plot's group
            except Exception:
                log.exception("the relay could not hand on a %s message", message.get("type"))

    def dispatch(self, message: PlotMessage) -> None:
        """Hand one channel-layer message to every local viewer of its plot."""
        viewers = self.viewers.get(message["plot"])
        if not viewers:
            return
        if message["type"] == "plot.updates":
            batch = UpdateBatch.of(message["updates"])
            for viewer in list(viewers):
                viewer.on_updates(batch)
        elif message["type"] == "plot.stream":
            presence: Presence = {"type": "stream", "stream": message["stream"], "connected": message["connected"]}
            if "seq" in message:
                presence["seq"] = message["seq"]
            frame = Frame(*encode(presence))
            for viewer in list(viewers):
                viewer.on_presence(frame)
        elif message["type"] == "plot.changed":
            for viewer in list(viewers):
                viewer.on_plot_changed()

    async def _watchdog_loop(self) -> None:
        """Close viewers whose socket has not taken a frame for VIEWER_SEND_TIMEOUT seconds."""
        timeout = settings.VIEWER_SEND_TIMEOUT
        while True:
            await asyncio.sleep(min(1.0, timeout / 2))
            now = self.loop.time()
            for viewers in list(self.viewers.values()):
                for viewer in list(viewers):
                    if viewer.stuck_since is not None and now - viewer.stuck_since > timeout:
                        viewer.give_up()


_relay: PlotRelay | None = None


async def get_relay() -> PlotRelay:
    """The relay of this process (of this event loop: tests run several loops in turn)."""
    global _relay
    if _relay is None or _relay.loop is not asyncio.get_running_loop():
        relay = _relay = PlotRelay()
        relay.started = asyncio.ensure_future(relay.start())
    assert _relay.started is not None
    await _relay.started
    return _relay
