"""Drive a stream's writer and commit in process, the way the pipeline does, without a server."""

from __future__ import annotations

from django.utils import timezone

from core.protocol import parse_line
from streaming.store import commit_chunks, load_stream
from streaming.stream_state import StreamWriter


def open_writer(token) -> StreamWriter:
    """The writer of `token`'s stream, loaded as a stream opening would load it."""
    return load_stream(token.pk, timezone.now())


def commit_lines(writer: StreamWriter, *lines: bytes, checkpoint: bool = False) -> list:
    """Accept the lines (numbering and applying them in memory), then store them in one commit.
    Returns what viewers were sent, as (plot id, update) pairs."""
    sent = [pair for line in lines for pair in writer.accept(parse_line(line))]
    now = timezone.now()
    chunk = writer.take_chunk(now)
    chunk.checkpoint = checkpoint
    reloads = commit_chunks([chunk], now)
    writer.committed_seq = writer.seq
    if writer.token_id in reloads:
        writer.reload(reloads[writer.token_id])
    elif chunk.annotation_counts is not None:
        writer.recount(chunk.annotation_counts)
    return sent
