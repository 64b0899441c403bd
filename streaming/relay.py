"""The viewer relay: one channel-layer subscription per watched plot per process, not per viewer.

Each process (each event loop) has one relay with one channel. The relay joins the group of
every plot that has viewers in this process and leaves it when the last one goes. It receives
each `plot.updates`, `plot.stream`, `plot.changed` and `plot.annotation` message once, encodes
what viewers get once, and hands the same text to every local viewer of the plot (streaming/viewer.py), which
decides, without encoding anything, whether the shared frame is the next thing it needs.

The channel layer may be away (Redis down, or one of its shards). Viewers then still connect and
get their snapshot from the database; the relay notices the outage by a probe it sends itself
every PROBE_INTERVAL through each shard (a group of its own on each), and when every probe comes
back it joins again every group it could not and gives every viewer a fresh snapshot, since
messages (updates, a producer's end, an edit) were lost meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import orjson
from django.conf import settings

from base import metrics, redis_hosts
from base.rate_limited_log import RateLimitedLog
from base.timeouts import within
from streaming import events
from streaming.events import PlotMessage, StreamUpdate
from streaming.viewer_messages import Annotated, AnnotationDeleted, Presence, ServerMessage, Updates

if TYPE_CHECKING:
    from streaming.viewer import ViewerSocket

log = logging.getLogger("plotserver.streaming")

PROBE = "relay.probe"
# Seconds between the probes each process sends its own relay channel: when one comes back after
# an outage, the relay joins its groups again and resyncs its viewers (docs/operations.md). An
# outage shorter than this can pass between two probes unseen, its cut subscriptions not joined
# again (docs/performance.md): a probe costs one small message.
PROBE_INTERVAL = 0.5


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
        self._failures = RateLimitedLog(log)
        self._channel_ready = asyncio.Event()
        # Whether the last probe failed: the next one that comes back resyncs every viewer.
        self.away = False
        self._probe = 0
        # The relay's own groups, one on each shard of the channel layer, that carry its probes.
        self._probe_groups: list[str] = []
        self._probes_back = 0
        self._probe_back = asyncio.Event()

    async def start(self) -> None:
        try:
            await self._open_channel()
        except Exception:
            self._mark_away()  # the probe loop opens it once the layer answers
            self._failures.warning("relay", "the channel layer is away: viewers get snapshots, no live updates")
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name="plotserver-relay"),
            asyncio.create_task(self._watchdog_loop(), name="plotserver-relay-watchdog"),
            asyncio.create_task(self._probe_loop(), name="plotserver-relay-probe"),
        ]

    async def _open_channel(self) -> None:
        self.channel_name = await within(self.layer.new_channel("viewer-relay."), settings.CHANNEL_LAYER_TIMEOUT)
        self._probe_groups = redis_hosts.group_on_each_shard(
            lambda n: events.relay_probe_group(self.channel_name, n),
            len(settings.REDIS_HOSTS) or 1,
            settings.REDIS_PREFIX,
        )
        self._channel_ready.set()
        await self._join_probe_groups()

    async def _join_probe_groups(self) -> None:
        """Join the probe groups (again: a no-op for those joined already)."""
        for group in self._probe_groups:
            await within(self.layer.group_add(group, self.channel_name), settings.CHANNEL_LAYER_TIMEOUT)

    @property
    def subscriptions(self) -> set[int]:
        """The plots whose group this process has joined."""
        return set(self._subscribed)

    async def join(self, plot_id: int, viewer: ViewerSocket) -> None:
        """Relay the plot's messages to `viewer` from now on (once the channel layer answers)."""
        self.viewers[plot_id].add(viewer)
        async with self._membership:
            await self._subscribe(plot_id)

    async def _subscribe(self, plot_id: int) -> bool:
        if not self.viewers.get(plot_id) or plot_id in self._subscribed:
            return True
        if not self._channel_ready.is_set():
            return False
        try:
            await within(
                self.layer.group_add(events.plot_group(plot_id), self.channel_name), settings.CHANNEL_LAYER_TIMEOUT
            )
        except Exception:
            self._mark_away()  # joined again, with a snapshot for its viewers, once the probe is back
            self._failures.warning("relay-join", "the channel layer is away: a viewer gets no live updates yet")
            return False
        self._subscribed.add(plot_id)
        return True

    async def leave(self, plot_id: int, viewer: ViewerSocket) -> None:
        viewers = self.viewers.get(plot_id)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self.viewers[plot_id]
        async with self._membership:
            if not self.viewers.get(plot_id) and plot_id in self._subscribed:
                self._subscribed.discard(plot_id)
                try:
                    await within(
                        self.layer.group_discard(events.plot_group(plot_id), self.channel_name),
                        settings.CHANNEL_LAYER_TIMEOUT,
                    )
                except Exception:
                    self._failures.warning("relay-leave", "the channel layer is away: could not leave a plot's group")

    async def _receive_loop(self) -> None:
        await self._channel_ready.wait()
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except Exception:
                # The layer reconnects by itself; the probe resyncs viewers once it is back.
                self._failures.warning("relay-receive", "the relay could not receive from the channel layer")
                await asyncio.sleep(1)
                continue
            if message.get("type") == PROBE:
                if message.get("n") == self._probe:
                    self._probes_back += 1
                    if self._probes_back >= len(self._probe_groups):
                        self._probe_back.set()
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
        elif message["type"] == "plot.annotation":
            notes: list[Annotated | AnnotationDeleted] = []
            if message.get("annotations"):
                notes.append({"type": "annotation", "annotations": message["annotations"]})
            if message.get("deleted"):
                notes.append({"type": "annotation_deleted", "ids": message["deleted"]})
            for note in notes:
                frame = Frame(*encode(note))
                for viewer in list(viewers):
                    viewer.on_annotation(frame)

    async def _watchdog_loop(self) -> None:
        """Close viewers whose socket has not taken a frame for VIEWER_SEND_TIMEOUT seconds."""
        timeout = settings.VIEWER_SEND_TIMEOUT
        while True:
            await asyncio.sleep(min(1.0, timeout / 2))
            now = self.loop.time()
            for viewers in list(self.viewers.values()):
                for viewer in list(viewers):
                    stuck_since = viewer.queue.stuck_since
                    if stuck_since is not None and now - stuck_since > timeout:
                        viewer.give_up()

    async def _probe_loop(self) -> None:
        """Send a probe through every shard (to this relay's group on it) every PROBE_INTERVAL:
        one that does not come back within CHANNEL_LAYER_TIMEOUT means messages are being lost."""
        timeout = settings.CHANNEL_LAYER_TIMEOUT
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            try:
                if not self._channel_ready.is_set():
                    await self._open_channel()
                elif self.away:
                    await self._join_probe_groups()
                self._probe += 1
                self._probes_back = 0
                self._probe_back.clear()
                for group in self._probe_groups:
                    await within(self.layer.group_send(group, {"type": PROBE, "n": self._probe}), timeout)
                await within(self._probe_back.wait(), timeout)
            except Exception:
                if not self.away:
                    log.warning("the channel layer is away: viewers get no live updates until it is back")
                self._mark_away()
                continue
            if self.away:
                await self._repair()

    def _mark_away(self) -> None:
        """Messages are being lost: counted once per outage (plotserver_channel_layer_outages)."""
        if not self.away:
            metrics.CHANNEL_LAYER_OUTAGES.inc()
            metrics.CHANNEL_LAYER_AWAY.set(1)
        self.away = True

    async def _repair(self) -> None:
        """The channel layer is back: join every group again and resync every viewer."""
        async with self._membership:
            for plot_id in list(self.viewers):
                if not await self._subscribe(plot_id):
                    return  # away again: the next probe tries anew
        self.away = False
        metrics.CHANNEL_LAYER_AWAY.set(0)
        metrics.CHANNEL_LAYER_RECOVERIES.inc()
        count = 0
        for viewers in list(self.viewers.values()):
            for viewer in list(viewers):
                viewer.on_plot_changed()
                count += 1
        log.warning("the channel layer is back: %d viewers get a fresh snapshot", count)


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
