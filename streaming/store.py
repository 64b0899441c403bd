"""The window store: one database transaction per ingest batch (group commit).

Everything the streams of this process accepted in one batch interval is applied to the
stored windows, layouts and token counters in a single transaction, and the same call returns
what each plot's viewers must be sent. Synchronous: the hub runs it on its own thread.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from plots.models import Plot, StreamToken, Trace
from streaming.events import StreamUpdate
from streaming.models import RecentUpdates
from streaming.protocol import Update
from streaming.window import apply_update, merge_layout


@dataclass
class StreamBatch:
    """What one token's stream accepted and rejected since the last commit."""

    token_id: int
    updates: list[Update] = field(default_factory=list)
    rejected: int = 0
    last_error: tuple[int, str, datetime] | None = None
    last_write_at: datetime | None = None


def commit_batch(batches: list[StreamBatch]) -> dict[int, list[StreamUpdate]]:
    """Apply the batches in one transaction; return the updates to publish, by plot id."""
    outgoing: dict[int, list[StreamUpdate]] = defaultdict(list)
    token_ids = [batch.token_id for batch in batches]
    with transaction.atomic():
        tokens = {t.pk: t for t in StreamToken.objects.select_for_update().filter(pk__in=token_ids)}
        traces_by_token: dict[int, list[Trace]] = defaultdict(list)
        for trace in Trace.objects.select_for_update().filter(stream_token_id__in=token_ids):
            traces_by_token[trace.stream_token_id].append(trace)
        plots: dict[int, Plot] = {}
        if any(update.layout for batch in batches for update in batch.updates):
            plot_ids = {t.plot_id for traces in traces_by_token.values() for t in traces}
            plots = {p.pk: p for p in Plot.objects.select_for_update().filter(pk__in=plot_ids)}

        changed_plots: set[int] = set()
        history: list[RecentUpdates] = []
        trims: list[tuple[StreamToken, list[Trace]]] = []
        for batch in batches:
            token = tokens.get(batch.token_id)
            if token is None:  # deleted while streaming: nothing left to write to
                continue
            traces = traces_by_token[token.pk]
            seq_before = token.last_seq
            kept: dict[int, list[StreamUpdate]] = defaultdict(list)
            for update in batch.updates:
                token.last_seq += 1
                deltas_by_plot: dict[int, dict] = defaultdict(dict)
                for trace in traces:
                    deltas_by_plot[trace.plot_id][str(trace.index)] = apply_update(trace.spec, update, trace.maxpoints)
                if update.layout:
                    for plot_id in deltas_by_plot:
                        merge_layout(plots[plot_id].layout, update.layout)
                        changed_plots.add(plot_id)
                for plot_id, deltas in deltas_by_plot.items():
                    message: StreamUpdate = {"stream": token.pk, "seq": token.last_seq, "traces": deltas}
                    if update.layout:
                        message["layout"] = update.layout
                    outgoing[plot_id].append(message)
                    kept[plot_id].append(message)
            budget = history_budget([t.maxpoints for t in traces])
            kept_size = 0
            for plot_id, updates in kept.items():
                size = sum(_values_in(u) for u in updates)
                # A batch carrying more than the budget is not kept: a viewer that missed it
                # gets a snapshot, which is smaller.
                if size <= budget:
                    kept_size += size
                    history.append(
                        RecentUpdates(
                            plot_id=plot_id,
                            token_id=token.pk,
                            first_seq=updates[0]["seq"],
                            last_seq=updates[-1]["seq"],
                            updates=updates,
                            size=size,
                        )
                    )
            if token.last_seq // 100 != seq_before // 100 or kept_size > budget // 10:
                trims.append((token, traces))
            token.accepted += len(batch.updates)
            token.rejected += batch.rejected
            if batch.last_error is not None:
                token.last_error_line, token.last_error, token.last_error_at = batch.last_error
            if batch.last_write_at is not None:
                token.last_write_at = batch.last_write_at

        changed_traces = [t for b in batches if b.updates for t in traces_by_token[b.token_id]]
        Trace.objects.bulk_update(changed_traces, ["spec"])
        RecentUpdates.objects.bulk_create(history)
        for token, traces in trims:
            _forget_old_history(token, traces)
        StreamToken.objects.bulk_update(
            tokens.values(),
            ["last_seq", "accepted", "rejected", "last_error", "last_error_line", "last_error_at", "last_write_at"],
        )
        if changed_plots:
            now = timezone.now()
            for plot_id in changed_plots:
                plots[plot_id].updated = now
            Plot.objects.bulk_update([plots[p] for p in changed_plots], ["layout", "updated"])
    return dict(outgoing)


def retention(maxpoints: list[int]) -> int:
    """How many of a stream's updates are kept for viewers coming back: its widest window."""
    return min(settings.STREAM_RECOVERY_UPDATES, max(maxpoints, default=0))


def history_budget(maxpoints: list[int]) -> int:
    """How many values of a stream's updates are kept: a few windows' worth. Catching up on
    more than that would cost a viewer more than a snapshot."""
    return 4 * max(sum(maxpoints), 1)


def _values_in(update: StreamUpdate) -> int:
    # Point values nest at most one array deep (protocol.MAX_DEPTH): no recursion needed.
    values = sum(
        sum(len(item) if isinstance(item, list) else 1 for item in value) if isinstance(value, list) else 1
        for delta in update["traces"].values()
        for part in delta.values()
        for value in part.values()
    )
    return values + len(update.get("layout", ()))


def _forget_old_history(token: StreamToken, traces: list[Trace]) -> None:
    """Drop kept updates beyond the window of the token's traces, by count and by values.

    Runs every hundred updates, and after any batch that kept many values."""
    maxpoints = [t.maxpoints for t in traces]
    kept = RecentUpdates.objects.filter(token=token)
    kept.filter(last_seq__lte=token.last_seq - retention(maxpoints)).delete()
    total, budget = 0, history_budget(maxpoints)
    for pk, size in kept.order_by("-pk").values_list("pk", "size"):
        total += size
        if total > budget:
            kept.filter(pk__lte=pk).delete()
            break


def catch_up(plot_id: int, user, share_key: str | None, since: dict) -> dict | None:
    """What a reconnecting viewer missed since `since` ({"revision", "streams": {id: seq}}).

    An `updates` message with exactly the missed updates when they are all still kept and the
    plot was not edited meanwhile; otherwise a fresh snapshot marked `"resync": true`. None when
    the viewer may not see the plot.
    """
    plot = Plot.objects.filter(pk=plot_id).first()
    if plot is None or not plot.can_view(user, share_key):
        return None
    seen = since.get("streams") if isinstance(since, dict) else None
    if since.get("revision") != plot.revision or not isinstance(seen, dict):
        return resync(plot_id, user, share_key)
    current = dict(StreamToken.objects.filter(traces__plot=plot).distinct().values_list("pk", "last_seq"))
    if set(map(str, current)) != set(seen):
        return resync(plot_id, user, share_key)
    windows = defaultdict(list)
    for token_id, maxpoints in Trace.objects.filter(stream_token_id__in=current).values_list(
        "stream_token_id", "maxpoints"
    ):
        windows[token_id].append(maxpoints)
    for token_id, last_seq in current.items():
        after = seen[str(token_id)]
        if not isinstance(after, int) or after > last_seq or last_seq - after > retention(windows[token_id]):
            return resync(plot_id, user, share_key)
    # In commit order across streams: layout changes of two streams must replay as they happened.
    kept = RecentUpdates.objects.filter(
        reduce(operator.or_, (Q(token_id=t, last_seq__gt=seen[str(t)]) for t in current), Q(pk__in=[])),
        plot=plot,
    ).order_by("pk")
    missed = [
        u
        for batch in kept.values_list("updates", flat=True)
        for u in batch
        if seen[str(u["stream"])] < u["seq"] <= current[u["stream"]]
    ]
    for token_id, last_seq in current.items():
        seqs = [u["seq"] for u in missed if u["stream"] == token_id]
        if seqs != list(range(seen[str(token_id)] + 1, last_seq + 1)):
            return resync(plot_id, user, share_key)
    return {
        "type": "updates",
        "replay": True,
        "updates": missed,
        "streams": {str(token_id): seq for token_id, seq in current.items()},
    }


def resync(plot_id: int, user, share_key: str | None) -> dict | None:
    message = snapshot(plot_id, user, share_key)
    if message is not None:
        message["resync"] = True
    return message


@dataclass(frozen=True)
class TokenState:
    id: int
    revoked: bool


def find_token(token: str) -> TokenState | None:
    row = StreamToken.objects.filter(token=token).values("pk", "revoked").first()
    if row is None:
        return None
    return TokenState(row["pk"], row["revoked"] is not None)


# How long a stream counts as connected after its process last said so (see renew_leases).
LEASE = timedelta(seconds=10)


def mark_connected(token_id: int, session_id: str, remote_addr: str) -> tuple[str, list[int]] | None:
    """Hold the token for this connection. Returns the connection that held it before ("" for
    none), which must be taken over, and the plots whose viewers should hear of the new one;
    None when the token was revoked meanwhile.

    The hold is taken under a row lock, so of two connections that open at once, the second
    sees the first and takes over from it.
    """
    now = timezone.now()
    with transaction.atomic():
        token = StreamToken.objects.select_for_update().filter(pk=token_id, revoked__isnull=True).first()
        if token is None:
            return None
        previous = token.holder
        StreamToken.objects.filter(pk=token_id).update(
            connected=True,
            holder=session_id,
            remote_addr=remote_addr[:100],
            connected_since=now,
            lease_until=now + LEASE,
        )
    return previous, plots_of_token(token_id)


def plots_of_token(token_id: int) -> list[int]:
    return list(Trace.objects.filter(stream_token_id=token_id).values_list("plot_id", flat=True).distinct())


def renew_leases(session_ids: list[str]) -> None:
    """The streams this process holds are still connected: one query for all of them."""
    StreamToken.objects.filter(holder__in=session_ids).update(lease_until=timezone.now() + LEASE)


def forget_connections() -> None:
    StreamToken.objects.filter(connected=True).update(connected=False, holder="")


def mark_disconnected(token_id: int, session_id: str, taken_over: bool) -> tuple[list[int], int]:
    """Clear the connection's hold, unless a newer connection holds the token already.

    Returns the plots whose viewers should hear that the stream is idle (none when a newer
    connection holds it), and the stream's last sequence number, which they should hold."""
    tokens = StreamToken.objects.filter(pk=token_id)
    if taken_over:
        tokens.update(takeovers=models.F("takeovers") + 1)
    released = tokens.filter(holder=session_id).update(connected=False, holder="")
    last_seq = tokens.values_list("last_seq", flat=True).first() or 0
    return (plots_of_token(token_id) if released else []), last_seq


def snapshot(plot_id: int, user, share_key: str | None) -> dict | None:
    """What a new viewer gets first: the figure, each trace's stream, each stream's position.

    None when the plot does not exist or this viewer may not see it.
    """
    # The traces (with their streams' positions) first, then the plot: its layout is then at
    # least as new as those positions. A layout change it already holds may come again as an
    # update; setting the same paths twice is harmless, missing one would not be.
    traces = list(Trace.objects.filter(plot_id=plot_id).select_related("stream_token"))
    plot = Plot.objects.select_related("owner").filter(pk=plot_id).first()
    if plot is None or not plot.can_view(user, share_key):
        return None
    streams = {}
    for trace in traces:
        token = trace.stream_token
        if token is not None and str(token.pk) not in streams:
            streams[str(token.pk)] = {
                "seq": token.last_seq,
                "connected": token.is_connected,
                "last_write_at": token.last_write_at.isoformat() if token.last_write_at else None,
            }
    return {
        "type": "snapshot",
        "plot": {"id": plot.pk, "title": plot.title, "owner": plot.owner.get_username()},
        "revision": plot.revision,
        "figure": {"data": [trace.spec for trace in traces], "layout": plot.layout},
        "traces": [{"index": t.index, "stream": t.stream_token_id, "maxpoints": t.maxpoints} for t in traces],
        "streams": streams,
    }
