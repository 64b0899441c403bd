"""Stored history for the history tests: streams committed in process at chosen times, the way
the pipeline commits them (tests/writers.py), and checkpointed."""

from __future__ import annotations

from datetime import datetime

import orjson
from django.utils import timezone

from core.models import Plot, StreamChunk, StreamToken, Trace
from core.protocol import parse_line
from streaming.store import commit_chunks, load_stream


def streamed_plot(owner, retention: str = "forever", sharing: str = "public", maxpoints: int = 10) -> Plot:
    """A plot of one streamed trace (x, y) with the given retention."""
    plot = Plot.objects.create(owner=owner, title="history", sharing=sharing, retention=retention)
    token = StreamToken.objects.create(owner=owner)
    Trace.objects.create(
        plot=plot, index=0, spec={"type": "scatter", "x": [], "y": []}, stream_token=token, maxpoints=maxpoints
    )
    return plot


def token_of(plot: Plot) -> int:
    """The id of the stream token of the plot's one trace."""
    return plot.traces.get().stream_token_id


def commit_points(token_id: int, points: list[dict], at: datetime | None = None, checkpoint: bool = True) -> None:
    """One commit of the stream, one line per point, stored as written at `at` (no points: a
    checkpoint alone, as a stream's end makes)."""
    at = at or timezone.now()
    writer = load_stream(token_id, at)
    writer.closing = not points
    for point in points:
        writer.accept(parse_line(orjson.dumps(point)))
    chunk = writer.take_chunk(at)
    chunk.checkpoint = checkpoint
    commit_chunks([chunk], at)


def stored_rows(token_id: int) -> list[tuple[int, int]]:
    """The stream's stored rows as (first_seq, last_seq), oldest first."""
    return list(StreamChunk.objects.filter(token_id=token_id).order_by("last_seq").values_list("first_seq", "last_seq"))
