"""A trace's stored window: its checkpoint plus the stream rows after it.

A trace's current window is its checkpoint (Trace.spec, which holds its stream's updates up to
TraceCheckpoint.seq) plus the StreamChunk rows after that seq. `current_windows` is the one
function that puts them together; snapshots, catch-up, the REST figure, the CSV export, the
admin and a writer starting after a restart all read windows through it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from core.models.streams import StreamChunk, TraceCheckpoint
from core.window import apply_delta

if TYPE_CHECKING:
    from core.models.plots import Plot, Trace


# Streams whose rows one query reads: a page of many plots, or a plot of many series, reads its
# windows in a few queries, not one per stream (each condition one branch of an OR on the index).
TOKENS_PER_READ = 100
ROWS_PER_FETCH = 50


def spec_hash(spec: dict[str, Any]) -> str:
    """A short fingerprint of a spec: a checkpoint notices by it that an edit rewrote the spec."""
    try:
        encoded = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers past 64 bits, which orjson does not write
        encoded = json.dumps(spec, sort_keys=True, default=str).encode()
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def current_windows(traces: list[Trace], positions: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """The current spec of each trace: its checkpoint with the stored rows after it applied.

    The traces need `plot` and `checkpoint` loaded (see `traces_with_windows`). A trace whose
    spec was edited since its checkpoint (or that has none) takes only the rows its writer
    wrote knowing the plot's current revision, i.e. after it saw the edit. `positions`, when
    given, receives each stream's newest row read (where a checkpoint of these windows stands).
    """
    plans: dict[int, list[tuple[Trace, dict[str, Any], int, bool]]] = defaultdict(list)
    specs = []
    for trace in traces:
        spec = trace.spec
        specs.append(spec)
        if trace.stream_token_id is None:
            continue
        checkpoint = checkpoint_of(trace)
        if (
            checkpoint is not None
            and checkpoint.token_id == trace.stream_token_id
            and checkpoint.spec_hash == spec_hash(spec)
        ):
            plans[trace.stream_token_id].append((trace, spec, checkpoint.seq, True))
        else:
            plans[trace.stream_token_id].append((trace, spec, 0, False))
    tokens = list(plans)
    for start in range(0, len(tokens), TOKENS_PER_READ):
        batch = tokens[start : start + TOKENS_PER_READ]
        after = Q()
        for token_id in batch:
            after |= Q(token_id=token_id, last_seq__gt=min(seq for _, _, seq, _ in plans[token_id]))
        rows = StreamChunk.objects.filter(after).order_by("token_id", "last_seq")
        # Taken a few rows at a time: a read holds about one row's worth, not every stream's.
        for token_id, last_seq, plots in rows.values_list("token_id", "last_seq", "plots").iterator(ROWS_PER_FETCH):
            if positions is not None:
                positions[token_id] = max(positions.get(token_id, 0), last_seq)
            for trace, spec, seq, checkpointed in plans[token_id]:
                entry = plots.get(str(trace.plot_id))
                if entry is None or last_seq <= seq:
                    continue
                if not checkpointed and entry["revision"] != trace.plot.revision:
                    continue
                _replay(spec, entry, trace)
    return specs


def checkpoint_of(trace: Trace) -> TraceCheckpoint | None:
    """The trace's checkpoint, None before its first."""
    try:
        return trace.checkpoint
    except ObjectDoesNotExist:
        return None


def _replay(spec: dict[str, Any], entry: dict[str, Any], trace: Trace) -> None:
    key = next((k for k, pk in entry["traces"].items() if pk == trace.pk), None)
    if key is None:
        return
    for update in entry["updates"]:
        delta = update["traces"].get(key)
        if delta:
            apply_delta(spec, delta, trace.maxpoints)


def traces_with_windows(traces: QuerySet[Trace]) -> list[Trace]:
    """The traces of a queryset with `spec` set to their current windows, for reading only:
    saving one would store the rows after its checkpoint a second time."""
    loaded = list(traces.select_related("plot", "checkpoint"))
    for trace, spec in zip(loaded, current_windows(loaded), strict=True):
        trace.spec = spec
    return loaded


def figure_of(plot: Plot) -> dict[str, Any]:
    """The figure with the streamed windows in its data, as stored: token strings are not taken
    out. What a viewer is shown is Plot.viewer_figure(), which takes them out."""
    return {"data": [t.spec for t in traces_with_windows(plot.traces.all())], "layout": plot.layout}


@contextmanager
def consistent_read() -> Iterator[None]:
    """A transaction whose reads all see one moment (REPEATABLE READ on PostgreSQL; SQLite's
    transactions already do): a checkpoint and the rows after it must not be read across a
    commit that folds and trims them."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
