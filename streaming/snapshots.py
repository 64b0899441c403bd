"""Reading the stored windows: what a new viewer, a returning viewer and the REST figure get.

A trace's current window is its checkpoint (Trace.spec, which holds its stream's updates up to
TraceCheckpoint.seq) plus the StreamChunk rows after that seq. `current_windows` is the one
function that puts them together; snapshots, catch-up, the REST figure, the CSV export, the
admin and a writer starting after a restart all read windows through it.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from plots.figure_schema import without_tokens
from plots.models import Plot, StreamToken, Trace
from streaming.events import StreamUpdate
from streaming.models import StreamChunk, TraceCheckpoint
from streaming.stream_state import values_in
from streaming.viewer_messages import CatchUp, Snapshot, StreamPosition
from streaming.window import apply_delta

# Who is looking: a signed-in user (by the browser session), or an anonymous visitor.
Visitor = AbstractBaseUser | AnonymousUser


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
    for token_id, plan in plans.items():
        after = min(seq for _, _, seq, _ in plan)
        rows = StreamChunk.objects.filter(token_id=token_id, last_seq__gt=after).order_by("last_seq")
        for last_seq, plots in rows.values_list("last_seq", "plots"):
            if positions is not None:
                positions[token_id] = max(positions.get(token_id, 0), last_seq)
            for trace, spec, seq, checkpointed in plan:
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
    except Trace.checkpoint.RelatedObjectDoesNotExist:
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
    """The figure as a viewer sees it now: streamed windows in the data, no tokens."""
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


def retention(maxpoints: list[int]) -> int:
    """How many of a stream's updates a returning viewer may catch up on: its widest window."""
    return min(settings.STREAM_RECOVERY_UPDATES, max(maxpoints, default=0))


def history_budget(maxpoints: list[int]) -> int:
    """How many values of a stream's updates a returning viewer may catch up on: a few
    windows' worth. Catching up on more than that would cost a viewer more than a snapshot."""
    return 4 * max(sum(maxpoints), 1)


def snapshot(plot_id: int, user: Visitor, share_key: str | None) -> Snapshot | None:
    """What a new viewer gets first: the figure, each trace's stream, each stream's position.

    None when the plot does not exist or this viewer may not see it.
    """
    with consistent_read():
        return _snapshot(plot_id, user, share_key)


def _snapshot(plot_id: int, user: Visitor, share_key: str | None) -> Snapshot | None:
    # The traces (with their streams' positions) first, then the plot: its layout is then at
    # least as new as those positions. A layout change it already holds may come again as an
    # update; setting the same paths twice is harmless, missing one would not be.
    traces = list(Trace.objects.filter(plot_id=plot_id).select_related("stream_token", "plot", "checkpoint"))
    plot = Plot.objects.visible_to(user, share_key).select_related("owner").filter(pk=plot_id).first()
    if plot is None:
        return None
    streams: dict[str, StreamPosition] = {}
    for trace in traces:
        token = trace.stream_token
        if token is not None and str(token.pk) not in streams:
            # Viewers get the public part of the token's status (StreamToken.status): never its
            # counters or errors, which are the owner's.
            status = token.status()
            streams[str(token.pk)] = {
                "seq": status["last_seq"],
                "connected": status["connected"],
                "last_write_at": status["last_write_at"],
            }
    # Rows past a stream's stored position cannot exist (a commit writes both at once), so the
    # windows and the positions agree. No token string of the owner's reaches a viewer, wherever
    # it was put (figures are checked when saved; this covers what was stored before).
    tokens = set(StreamToken.objects.filter(owner_id=plot.owner_id).values_list("token", flat=True))
    figure = {"data": current_windows(traces), "layout": plot.layout}
    message: Snapshot = {
        "type": "snapshot",
        "plot": {"id": plot.pk, "title": plot.title, "owner": plot.owner.get_username()},
        "revision": plot.revision,
        "figure": without_tokens(figure, tokens),
        "traces": [{"index": t.index, "stream": t.stream_token_id, "maxpoints": t.maxpoints} for t in traces],
        "streams": streams,
    }
    return message


def catch_up(plot_id: int, user: Visitor, share_key: str | None, since: dict[str, Any]) -> Snapshot | CatchUp | None:
    """What a reconnecting viewer missed since `since` ({"revision", "streams": {id: seq}}).

    An `updates` message with exactly the missed updates, in commit order across the plot's
    streams, when they are all stored and the plot was not edited meanwhile; otherwise a fresh
    snapshot marked `"resync": true`: also when the viewer is ahead of what was stored (its
    stream's writer crashed before storing what it had sent, or has not stored it yet). None
    when the viewer may not see the plot.
    """
    with consistent_read():
        return _catch_up(plot_id, user, share_key, since)


def _catch_up(plot_id: int, user: Visitor, share_key: str | None, since: dict[str, Any]) -> Snapshot | CatchUp | None:
    plot = Plot.objects.visible_to(user, share_key).filter(pk=plot_id).first()
    if plot is None:
        return None
    seen = since.get("streams") if isinstance(since, dict) else None
    if since.get("revision") != plot.revision or not isinstance(seen, dict):
        return resync(plot_id, user, share_key)
    current = dict(StreamToken.objects.filter(traces__plot=plot).distinct().values_list("pk", "last_seq"))
    if set(map(str, current)) != set(seen):
        return resync(plot_id, user, share_key)
    windows: dict[int, list[int]] = defaultdict(list)
    for token_id, maxpoints in Trace.objects.filter(stream_token_id__in=current).values_list(
        "stream_token_id", "maxpoints"
    ):
        windows[token_id].append(maxpoints)
    for token_id, last_seq in current.items():
        after = seen[str(token_id)]
        if not isinstance(after, int) or after > last_seq or last_seq - after > retention(windows[token_id]):
            return resync(plot_id, user, share_key)
    rows = StreamChunk.objects.filter(
        reduce(operator.or_, (Q(token_id=t, last_seq__gt=seen[str(t)]) for t in current), Q(pk__in=[]))
    ).order_by("pk")
    missed: list[StreamUpdate] = []
    values: dict[int, int] = defaultdict(int)
    for plots in rows.values_list("plots", flat=True):
        entry = plots.get(str(plot_id))
        if entry is None:
            continue
        if entry["revision"] != plot.revision:  # written before its writer saw an edit
            return resync(plot_id, user, share_key)
        for update in entry["updates"]:
            stream = update["stream"]
            if seen[str(stream)] < update["seq"] <= current[stream]:
                missed.append(update)
                values[stream] += values_in(update)
    for token_id, last_seq in current.items():
        seqs = [u["seq"] for u in missed if u["stream"] == token_id]
        if seqs != list(range(seen[str(token_id)] + 1, last_seq + 1)):
            return resync(plot_id, user, share_key)
        if values[token_id] > history_budget(windows[token_id]):  # a snapshot is smaller
            return resync(plot_id, user, share_key)
    return {
        "type": "updates",
        "replay": True,
        "updates": missed,
        "streams": {str(token_id): seq for token_id, seq in current.items()},
    }


def resync(plot_id: int, user: Visitor, share_key: str | None) -> Snapshot | None:
    """A snapshot marked `"resync": true`: the viewer starts over from it."""
    message = snapshot(plot_id, user, share_key)
    if message is not None:
        message["resync"] = True
    return message
