"""The history pruning job: remove the stored rows no plot's retention keeps any more.

A stream's rows (streaming/models.py StreamChunk) serve every plot whose traces show it, so a
row goes only when each of those plots lets it go: a duration plot once the row is older than
its duration, a point-count plot once the row's lines are not among the newest that many, a
"window" plot once its checkpoint holds the row (what the stream's checkpoint trims by itself
when every plot of the stream keeps only the window), a "forever" plot never. Rows are removed
oldest first, HISTORY_PRUNE_BATCH at a time, each batch one short transaction found through
the (token, time) or (token, last_seq) index: never a scan of the table.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from history.retention import WINDOW, parse_retention
from plots.models import StreamToken, Trace
from streaming.models import StreamChunk, TraceCheckpoint

log = logging.getLogger("plotserver.history")


@dataclass(frozen=True)
class PrunePlan:
    """Which of one stream's rows may go: older than `before` (when set), with `last_seq` at
    most `upto`."""

    token_id: int
    before: datetime | None
    upto: int


def plan_pruning(now: datetime) -> list[PrunePlan]:
    """What each stream with a plot keeping more than its window may lose now."""
    streams: dict[int, list[str]] = defaultdict(list)
    kept = Trace.objects.filter(stream_token__isnull=False).exclude(plot__retention=WINDOW)
    token_ids = set(kept.values_list("stream_token_id", flat=True))
    for token_id, retention in Trace.objects.filter(stream_token_id__in=token_ids).values_list(
        "stream_token_id", "plot__retention"
    ):
        streams[token_id].append(retention)
    positions = dict(StreamToken.objects.filter(pk__in=streams).values_list("pk", "last_seq"))
    plans = []
    for token_id, retentions in sorted(streams.items()):
        rules = [parse_retention(r) for r in retentions]
        if token_id not in positions or any(rule.kind == "forever" for rule in rules):
            continue
        upto = _checkpointed(token_id)
        counts = [rule.points for rule in rules if rule.kind == "points"]
        if counts:
            upto = min(upto, positions[token_id] - max(counts))
        durations = [rule.seconds for rule in rules if rule.kind == "duration"]
        before = now - timedelta(seconds=max(durations)) if durations else None
        if upto > 0:
            plans.append(PrunePlan(token_id, before, upto))
    return plans


def _checkpointed(token_id: int) -> int:
    """The newest row every trace of the stream has folded into its window (0: not all have)."""
    traces = Trace.objects.filter(stream_token_id=token_id)
    marks = TraceCheckpoint.objects.filter(trace__in=traces, token_id=token_id)
    if marks.count() < traces.count():
        return 0
    return marks.aggregate(seq=Min("seq"))["seq"] or 0


def delete_batch(plan: PrunePlan, limit: int) -> int:
    """Delete up to `limit` of the plan's oldest rows in one transaction; how many went."""
    quote = connection.ops.quote_name
    table = quote(StreamChunk._meta.db_table)
    where = "token_id = %s AND last_seq <= %s"
    params: list[int | str | None] = [plan.token_id, plan.upto]
    order = "last_seq"
    if plan.before is not None:
        where += f" AND {quote('time')} < %s"
        params.append(connection.ops.adapt_datetimefield_value(plan.before))
        order = quote("time")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN"
            f" (SELECT id FROM {table} WHERE {where} ORDER BY token_id, {order} LIMIT %s)",
            [*params, limit],
        )
        return cursor.rowcount


def prune_history(now: datetime | None = None, limit: int | None = None) -> int:
    """One whole pass, batch after batch: how many rows went. (The server runs the same steps
    from its periodic loop, `prune_loop`; this is for tests and `manage.py prune_history`.)"""
    limit = limit or settings.HISTORY_PRUNE_BATCH
    total = 0
    for plan in plan_pruning(now or timezone.now()):
        while (deleted := delete_batch(plan, limit)) > 0:
            total += deleted
            if deleted < limit:
                break
    return total


async def prune_loop(run_sync) -> None:
    """Every HISTORY_PRUNE_INTERVAL seconds, one pass, each batch through `run_sync` (the
    pipeline's database thread): commits run between batches, never behind a whole pass."""
    limit = settings.HISTORY_PRUNE_BATCH
    while True:
        await asyncio.sleep(settings.HISTORY_PRUNE_INTERVAL)
        try:
            total = 0
            for plan in await run_sync(plan_pruning, timezone.now()):
                while (deleted := await run_sync(delete_batch, plan, limit)) > 0:
                    total += deleted
                    if deleted < limit:
                        break
            if total:
                log.info("history pruning removed %d stored rows", total)
        except Exception:
            log.exception("history pruning failed; it runs again in %s s", settings.HISTORY_PRUNE_INTERVAL)
