"""The channel-layer groups and messages of plotserver, named and sent from this one place.

Two kinds of group (and the relays' own probe groups, `relay_probe_group`; apps above name groups
of their own and send to them with `send_from_sync`, as dashboards/events.py does):
- `plot_group(plot_id)`: the viewer relay of every process that has viewers of the plot
  (streaming/relay.py: one member per process, not one per viewer). Messages, each naming its
  `plot`: `plot.updates` (one per plot per ingest batch, carrying every update of that batch),
  `plot.changed` (the plot or its traces were edited: viewers take a fresh snapshot, or leave
  if they may no longer see it), `plot.stream` (a producer of the plot connected or went away)
  and `plot.annotation` (annotations of the plot were stored, or deleted: one message per
  plot per transaction or ingest commit, carrying them all).
- `stream_group(token_id)`: the process that holds a token's open stream. Messages:
  `stream.takeover` (a newer connection came: close yours with 409 and answer
  `stream.released`), `stream.revoke` (the token was revoked: close with 410), `stream.plot_deleted`
  (the last plot the token fed was deleted: close with 410, saying so), `stream.run`
  (start a new run as the stream's next update: answer `stream.run_started` once it is stored).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, Protocol, TypedDict, cast

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from base.rate_limited_log import RateLimitedLog
from base.timeouts import within
from core.annotation_drawing import AnnotationData

log = logging.getLogger("plotserver.streaming")
_failures = RateLimitedLog(log)


def plot_group(plot_id: int) -> str:
    return f"plot-{plot_id}"


def stream_group(token_id: int) -> str:
    return f"stream-{token_id}"


def relay_probe_group(channel_name: str, n: int) -> str:
    """A group of one member, a viewer relay (streaming/relay.py), that carries its own probes:
    the relay picks by `n` one such group on each shard of the channel layer."""
    return f"relay-probe.{channel_name}.{n}"


class ChannelLayer(Protocol):
    """What plotserver uses of a channel layer (the in-memory one, or Redis): messages go in as
    the TypedDicts below and come out as plain dicts."""

    async def new_channel(self, prefix: str = ...) -> str: ...
    async def send(self, channel: str, message: Mapping[str, object]) -> None: ...
    async def receive(self, channel: str) -> dict[str, Any]: ...
    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def group_send(self, group: str, message: Mapping[str, object]) -> None: ...


def channel_layer() -> ChannelLayer:
    """The process's channel layer (settings.CHANNEL_LAYERS always configures one)."""
    return cast(ChannelLayer, get_channel_layer())


class TraceDelta(TypedDict, total=False):
    clear: list[str]
    extend: dict[str, list[object]]
    set: dict[str, object]


class RunStarted(TypedDict):
    """The run an update starts (its first line): numbered per stream from 1."""

    number: int
    name: str


class StreamUpdate(TypedDict):
    stream: int
    seq: int
    traces: dict[str, TraceDelta]
    layout: NotRequired[dict[str, object]]
    run: NotRequired[RunStarted]


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


class StreamPlotDeleted(TypedDict):
    type: Literal["stream.plot_deleted"]
    token_id: int


class StreamRun(TypedDict):
    type: Literal["stream.run"]
    token_id: int
    name: str
    request: str
    reply_to: str


class StreamRunStarted(TypedDict):
    type: Literal["stream.run_started"]
    request: str
    number: int
    first_seq: int


class PlotStream(TypedDict):
    type: Literal["plot.stream"]
    plot: int
    stream: int
    connected: bool
    seq: NotRequired[int]


class PlotAnnotation(TypedDict):
    """Annotations of the plot were stored (`annotations`) or deleted (`deleted`, their ids)."""

    type: Literal["plot.annotation"]
    plot: int
    annotations: NotRequired[list[AnnotationData]]
    deleted: NotRequired[list[int]]


# What a plot group carries (to streaming/relay.py), and what a stream group carries (to
# the stream control, streaming/stream_control.py).
PlotMessage = PlotUpdates | PlotChanged | PlotStream | PlotAnnotation
StreamMessage = StreamTakeover | StreamRevoke | StreamPlotDeleted | StreamReleased | StreamRun | StreamRunStarted


async def publish_stream_state(plot_ids: list[int], token_id: int, connected: bool, seq: int | None = None) -> None:
    """A producer connected or went away: the viewers of its plots show it streaming or idle.

    When it went away, `seq` is its last sequence number: a viewer that holds less lost an
    update on the way (nothing more will come to show it a gap) and takes a snapshot.
    """
    for plot_id in plot_ids:
        message: PlotStream = {"type": "plot.stream", "plot": plot_id, "stream": token_id, "connected": connected}
        if seq is not None:
            message["seq"] = seq
        await channel_layer().group_send(plot_group(plot_id), message)


async def publish_updates(plot_id: int, updates: list[StreamUpdate]) -> None:
    """Every update of one batch of a plot, to the relay of each process with viewers of it."""
    message: PlotUpdates = {"type": "plot.updates", "plot": plot_id, "updates": updates}
    await channel_layer().group_send(plot_group(plot_id), message)


def announce_plot_changed(sender: object, plot_id: int, **kwargs: object) -> None:
    """Tell the plot's viewers it was edited: they take a fresh snapshot. The receiver of the
    core's `plot_changed`, which `Plot.changed()` sends once the edit committed (the revision
    bump is the edit's own); call that, not this. Called from sync code."""
    message: PlotChanged = {"type": "plot.changed", "plot": plot_id}
    send_from_sync(plot_group(plot_id), message)


def announce_annotation(
    sender: object,
    plot_id: int,
    annotations: list[AnnotationData] | None = None,
    deleted: list[int] | None = None,
    **kwargs: object,
) -> None:
    """Tell the plot's viewers annotations were stored or deleted, in one message: the receiver
    of the core's `annotation_changed`, which Annotation's actions send once they committed.
    Called from sync code."""
    send_from_sync(plot_group(plot_id), annotation_message(plot_id, annotations or [], deleted or []))


async def publish_annotations(plot_id: int, annotations: list[AnnotationData]) -> None:
    """Annotations a stream's lines made, stored by the commit that stored the lines: to the
    relay of each process with viewers of the plot, one message per plot per publisher pass
    (streaming/publisher.py, which times it and counts its failure as an update's)."""
    await channel_layer().group_send(plot_group(plot_id), annotation_message(plot_id, annotations, []))


def annotation_message(plot_id: int, annotations: list[AnnotationData], deleted: list[int]) -> PlotAnnotation:
    message: PlotAnnotation = {"type": "plot.annotation", "plot": plot_id}
    if annotations:
        message["annotations"] = annotations
    if deleted:
        message["deleted"] = deleted
    return message


def announce_revoked(sender: object, token_id: int, **kwargs: object) -> None:
    """Tell the process holding the token's stream to end it (410): the receiver of the core's
    `token_revoked`, which `StreamToken.revoke()` sends once the revocation committed."""
    message: StreamRevoke = {"type": "stream.revoke", "token_id": token_id}
    send_from_sync(stream_group(token_id), message)


def announce_plot_deleted(sender: object, token_id: int, **kwargs: object) -> None:
    """Tell the process holding the token's stream to end it (410, the plot was deleted): the
    receiver of the core's `token_plot_deleted`, which `StreamToken.end_streams_of_deleted_plots`
    sends once the deletion committed."""
    message: StreamPlotDeleted = {"type": "stream.plot_deleted", "token_id": token_id}
    send_from_sync(stream_group(token_id), message)


def send_from_sync(group: str, message: Mapping[str, Any]) -> None:
    """Send `message` (its "type" naming its handler) to `group`, from sync code, once an edit is
    stored: the message is a courtesy that must not fail the request.
    With the channel layer away, viewers catch up by the revision when it is back (the relay
    resyncs them), and a revoked token's stream (or one whose plot was deleted) ends by its process's
    database re-check."""
    try:
        async_to_sync(_group_send_in_time)(group, message)
    except Exception:
        _failures.warning("announce", f"could not send {message['type']} to {group}: the channel layer is away")


async def request_takeover(token_id: int, by: str, reply_to: str) -> None:
    message: StreamTakeover = {"type": "stream.takeover", "token_id": token_id, "by": by, "reply_to": reply_to}
    await channel_layer().group_send(stream_group(token_id), message)


async def confirm_released(reply_to: str, by: str) -> None:
    message: StreamReleased = {"type": "stream.released", "by": by}
    await channel_layer().send(reply_to, message)


async def request_run(token_id: int, name: str, request: str, reply_to: str) -> None:
    message: StreamRun = {
        "type": "stream.run",
        "token_id": token_id,
        "name": name,
        "request": request,
        "reply_to": reply_to,
    }
    await channel_layer().group_send(stream_group(token_id), message)


async def confirm_run(reply_to: str, request: str, number: int, first_seq: int) -> None:
    message: StreamRunStarted = {
        "type": "stream.run_started",
        "request": request,
        "number": number,
        "first_seq": first_seq,
    }
    await channel_layer().send(reply_to, message)


async def _group_send_in_time(group: str, message: Mapping[str, object]) -> None:
    await within(channel_layer().group_send(group, message), settings.CHANNEL_LAYER_TIMEOUT)
