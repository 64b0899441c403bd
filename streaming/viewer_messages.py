"""The messages of the viewer socket (docs/websocket.md), typed: what the server sends a viewer,
and what a viewer may send. The channel-layer messages behind them are in streaming/events.py."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from core.annotation_drawing import AnnotationData
from streaming.events import StreamUpdate

# -- from the server ---------------------------------------------------------------------


class PlotHeading(TypedDict):
    id: int
    title: str
    owner: str


class TraceStream(TypedDict):
    """Which stream feeds the trace at `index` (None: unbound), and its window."""

    index: int
    stream: int | None
    maxpoints: int


class StreamPosition(TypedDict):
    seq: int
    connected: bool
    last_write_at: str | None


class Snapshot(TypedDict):
    """The whole plot as it is now; `resync` after a catch-up that could not be served."""

    type: Literal["snapshot"]
    plot: PlotHeading
    revision: int
    figure: dict[str, Any]
    traces: list[TraceStream]
    streams: dict[str, StreamPosition]
    annotations: list[AnnotationData]
    resync: NotRequired[bool]


class Updates(TypedDict):
    """Streamed lines, in sequence order per stream; `replay` marks a catch-up after `since`."""

    type: Literal["updates"]
    updates: list[StreamUpdate]
    replay: NotRequired[bool]


class Presence(TypedDict):
    """A producer connected or went away (only to viewers that asked with `presence=1`)."""

    type: Literal["stream"]
    stream: int
    connected: bool
    seq: NotRequired[int]


class Annotated(TypedDict):
    """Annotations of the plot were made or changed: draw them (each replacing one of its id)."""

    type: Literal["annotation"]
    annotations: list[AnnotationData]


class AnnotationDeleted(TypedDict):
    """Annotations of the plot were deleted: stop drawing them."""

    type: Literal["annotation_deleted"]
    ids: list[int]


class Annotations(TypedDict):
    """Every annotation of the plot, replacing those held: after a catch-up (`since`), which
    replays streamed updates only."""

    type: Literal["annotations"]
    annotations: list[AnnotationData]


class Error(TypedDict):
    """Sent before the socket closes with 4404 (not shared) or 4410 (deleted)."""

    type: Literal["error"]
    status: int
    message: str


ServerMessage = Snapshot | Updates | Presence | Annotated | AnnotationDeleted | Annotations | Error


class CatchUp(TypedDict):
    """What a returning viewer missed, as read from the database: an `updates` message with
    `replay`, plus the position (seq per stream) it leaves the viewer at. The position stays on
    the server: the viewer gets `as_updates(catch_up)`."""

    type: Literal["updates"]
    replay: Literal[True]
    updates: list[StreamUpdate]
    streams: dict[str, int]
    annotations: NotRequired[list[AnnotationData]]  # read for a viewer coming back with `since` only


def as_updates(catch_up: CatchUp) -> Updates:
    return {"type": "updates", "replay": True, "updates": catch_up["updates"]}


# -- from the client ---------------------------------------------------------------------


class ResyncRequest(TypedDict):
    """Asks for a fresh snapshot (at most one per VIEWER_RESYNC_INTERVAL is sent)."""

    type: Literal["resync"]


ClientMessage = ResyncRequest
