"""The channel-layer groups and messages of plotserver, named and sent from this one place.

Two kinds of group:
- `plot_group(plot_id)`: the viewer relay of every process that has viewers of the plot
  (streaming/relay.py: one member per process, not one per viewer). Messages, each naming its
  `plot`: `plot.updates` (one per plot per ingest batch, carrying every update of that batch),
  `plot.changed` (the plot or its traces were edited: viewers take a fresh snapshot, or leave
  if they may no longer see it) and `plot.stream` (a producer of the plot connected or went away).
- `stream_group(token_id)`: the process that holds a token's open stream. Messages:
  `stream.takeover` (a newer connection came: close yours with 409 and answer
  `stream.released`), `stream.revoke` (the token was revoked: close with 410).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def plot_group(plot_id: int) -> str:
    return f"plot-{plot_id}"


def stream_group(token_id: int) -> str:
    return f"stream-{token_id}"


class TraceDelta(TypedDict, total=False):
    extend: dict[str, list]
    set: dict[str, object]


class StreamUpdate(TypedDict):
    stream: int
    seq: int
    traces: dict[str, TraceDelta]
    layout: NotRequired[dict[str, object]]


class PlotUpdates(TypedDict):
    type: Literal["plot.updates"]
    plot: int
    updates: list[StreamUpdate]


class PlotChanged(TypedDict):
    type: Literal["plot.changed"]
    plot: int


class StreamTakeover(TypedDict):
    type: Literal["stream.takeover"]
    token_id: int
    by: str
    reply_to: str


class StreamReleased(TypedDict):
    type: Literal["stream.released"]
    by: str


class StreamRevoke(TypedDict):
    type: Literal["stream.revoke"]
    token_id: int


class PlotStream(TypedDict):
    type: Literal["plot.stream"]
    plot: int
    stream: int
    connected: bool
    seq: NotRequired[int]


async def publish_stream_state(plot_ids: list[int], token_id: int, connected: bool, seq: int | None = None) -> None:
    """A producer connected or went away: the viewers of its plots show it streaming or idle.

    When it went away, `seq` is its last sequence number: a viewer that holds less lost an
    update on the way (nothing more will come to show it a gap) and takes a snapshot.
    """
    for plot_id in plot_ids:
        message: PlotStream = {"type": "plot.stream", "plot": plot_id, "stream": token_id, "connected": connected}
        if seq is not None:
            message["seq"] = seq
        await get_channel_layer().group_send(plot_group(plot_id), message)


async def publish_updates(plot_id: int, updates: list[StreamUpdate]) -> None:
    """Every update of one batch of a plot, to the relay of each process with viewers of it."""
    message: PlotUpdates = {"type": "plot.updates", "plot": plot_id, "updates": updates}
    await get_channel_layer().group_send(plot_group(plot_id), message)


def announce_plot_changed(plot_id: int) -> None:
    """Tell the plot's viewers it was edited: they take a fresh snapshot. Sent by
    `Plot.changed()` once the edit committed (the revision bump is the edit's own); call that,
    not this. Called from sync code."""
    message: PlotChanged = {"type": "plot.changed", "plot": plot_id}
    async_to_sync(get_channel_layer().group_send)(plot_group(plot_id), message)


def announce_revoked(token_id: int) -> None:
    message: StreamRevoke = {"type": "stream.revoke", "token_id": token_id}
    async_to_sync(get_channel_layer().group_send)(stream_group(token_id), message)


async def request_takeover(token_id: int, by: str, reply_to: str) -> None:
    message: StreamTakeover = {"type": "stream.takeover", "token_id": token_id, "by": by, "reply_to": reply_to}
    await get_channel_layer().group_send(stream_group(token_id), message)


async def confirm_released(reply_to: str, by: str) -> None:
    message: StreamReleased = {"type": "stream.released", "by": by}
    await get_channel_layer().send(reply_to, message)
