"""What a new viewer and a returning viewer get: a snapshot of the stored windows
(core/models/windows.py), or the updates it missed."""

from __future__ import annotations

import operator
from collections import defaultdict
from functools import reduce
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from core.figure_schema import without_tokens
from core.models import Plot, StreamChunk, StreamToken, Trace
from core.models.windows import consistent_read, current_windows
from streaming.events import StreamUpdate
from streaming.stream_state import values_in
from streaming.viewer_messages import CatchUp, Snapshot, StreamPosition

# Who is looking: a signed-in user (by the browser session), or an anonymous visitor.
Visitor = AbstractBaseUser | AnonymousUser


def catch_up_updates_limit(maxpoints: list[int]) -> int:
    """How many of a stream's updates a returning viewer may catch up on: its widest window."""
    return min(settings.STREAM_RECOVERY_UPDATES, max(maxpoints, default=0))


def history_budget(maxpoints: list[int]) -> int:
    """How many values of a stream's updates a returning viewer may catch up on: a few
    windows' worth. Catching up on more than that would cost a viewer more than a snapshot."""
    return 4 * max(sum(maxpoints), 1)


def plot_exists(plot_id: int) -> bool:
    return Plot.objects.filter(pk=plot_id).exists()


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
    tokens = StreamToken.objects.strings_of(plot.owner_id)
    figure = {"data": current_windows(traces), "layout": plot.layout}
    message: Snapshot = {
        "type": "snapshot",
        "plot": {"id": plot.pk, "title": plot.title, "owner": plot.owner.get_username()},
        "revision": plot.revision,
        "figure": without_tokens(figure, tokens),
        "traces": [{"index": t.index, "stream": t.stream_token_id, "maxpoints": t.maxpoints} for t in traces],
        "streams": streams,
        "annotations": plot.annotation_list(tokens),
    }
    return message


def catch_up(
    plot_id: int, user: Visitor, share_key: str | None, since: dict[str, Any], with_annotations: bool = False
) -> Snapshot | CatchUp | None:
    """What a reconnecting viewer missed since `since` ({"revision", "streams": {id: seq}}).

    An `updates` message with exactly the missed updates, in commit order across the plot's
    streams, when they are all stored and the plot was not edited meanwhile; otherwise a fresh
    snapshot marked `"resync": true`: also when the viewer is ahead of what was stored (its
    stream's writer crashed before storing what it had sent, or has not stored it yet). None
    when the viewer may not see the plot. `with_annotations`: the plot's annotations too (a viewer
    coming back with `since`; one filling a gap while connected hears of them live).
    """
    with consistent_read():
        return _catch_up(plot_id, user, share_key, since, with_annotations)


def _catch_up(
    plot_id: int, user: Visitor, share_key: str | None, since: dict[str, Any], with_annotations: bool
) -> Snapshot | CatchUp | None:
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
        limit = catch_up_updates_limit(windows[token_id])
        if not isinstance(after, int) or after > last_seq or last_seq - after > limit:
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
    caught_up: CatchUp = {
        "type": "updates",
        "replay": True,
        "updates": missed,
        "streams": {str(token_id): seq for token_id, seq in current.items()},
    }
    if with_annotations:
        caught_up["annotations"] = plot.annotation_list()
    return caught_up


def resync(plot_id: int, user: Visitor, share_key: str | None) -> Snapshot | None:
    """A snapshot marked `"resync": true`: the viewer starts over from it."""
    message = snapshot(plot_id, user, share_key)
    if message is not None:
        message["resync"] = True
    return message
