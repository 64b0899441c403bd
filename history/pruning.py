"""The history job: fold history into blocks, and remove what no plot's retention keeps.

Each pass first folds (history/folding.py), then removes: the blocks a plot's retention lets
go, whole blocks only (a duration plot's blocks whose newest row is older than its duration, a
point-count plot's blocks whose rows are all older than the newest that many lines), and the
stream rows that every plot of the stream has folded into blocks or checkpointed into its
window (one pass after they were folded: a download that reached them can still read them);
then, as below, rows no plot keeps at all (those not folded yet included); and last, the
runs whose points are all gone (history/run_spans.py `forget_runs`), whatever the plots' retention,
so that a stream starting run after run keeps no more of them than of its points; and, plot by
plot, the annotations the plot's retention lets go (core/models/annotations.py `expired_on`).

A stream's rows (core/models/streams.py StreamChunk) serve every plot whose traces show it, so a
row goes only when each of those plots lets it go: a duration plot once the row is older than
its duration, a point-count plot once the row's lines are not among the newest that many, a
"window" plot once its checkpoint holds the row (what the stream's checkpoint trims by itself
when every plot of the stream keeps only the window), a "forever" plot never. Rows are removed
oldest first, PRUNE_BATCH at a time, each batch one short transaction found through
the (token, time) or (token, last_seq) index: never a scan of the table.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from core.models import Annotation, HistoryBlock, HistoryFold, StreamChunk, StreamToken, Trace, TraceCheckpoint
from core.retention import parse_retention
from history.folding import fold_steps, settle_marks
from history.job_steps import Step, Steps, run_here, run_through
from history.run_spans import forget_runs, streams_with_runs

log = logging.getLogger("plotserver.history")

# Stored rows or history blocks one delete of the history job removes, each delete one short
# transaction (docs/history.md).
PRUNE_BATCH = 1000


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
    kept = Trace.objects.keeping_history()
    token_ids = set(kept.values_list("stream_token_id", flat=True))
    for token_id, retention in Trace.objects.filter(stream_token_id__in=token_ids).values_list(
        "stream_token_id", "plot__retention"
    ):
        streams[token_id].append(retention)
    positions = dict(StreamToken.objects.filter(pk__in=streams).values_list("pk", "last_seq"))
    plans = []
    for token_id, retentions in sorted(streams.items()):
        rules = [parse_retention(r) for r in retentions]
        if token_id not in positions:
            continue
        folded = min(_checkpointed(token_id), _folded(token_id))
        if folded > 0:  # in blocks (or in windows) already, whatever the retention
            plans.append(PrunePlan(token_id, None, folded))
        if any(rule.kind == "forever" for rule in rules):
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


def _folded(token_id: int) -> int:
    """The newest row every history trace of the stream had folded into blocks by the previous
    pass (0: not all)."""
    traces = Trace.objects.keeping_history().filter(stream_token_id=token_id)
    marks = HistoryFold.objects.filter(trace__in=traces, token_id=token_id)
    if marks.count() < traces.count():
        return 0
    return marks.aggregate(seq=Min("removable"))["seq"] or 0


@dataclass(frozen=True)
class BlockPlan:
    """Which of one trace's blocks may go: those written before `before`, or with `last_seq`
    at most `upto`."""

    trace_id: int
    before: datetime | None
    upto: int


def plan_block_pruning(now: datetime) -> list[BlockPlan]:
    """What each trace of a duration or point-count plot may lose of its blocks now."""
    plans = []
    traces = Trace.objects.keeping_history()
    for trace_id, retention, position in traces.values_list("pk", "plot__retention", "stream_token__last_seq").order_by(
        "pk"
    ):
        rule = parse_retention(retention)
        if rule.kind == "duration":
            plans.append(BlockPlan(trace_id, now - timedelta(seconds=rule.seconds), 0))
        elif rule.kind == "points" and position - rule.points > 0:
            plans.append(BlockPlan(trace_id, None, position - rule.points))
    return plans


def delete_blocks(plan: BlockPlan, limit: int) -> int:
    """Delete up to `limit` of the plan's blocks, whole, in one transaction; how many went."""
    blocks = HistoryBlock.objects.filter(trace_id=plan.trace_id)
    blocks = blocks.filter(time__lt=plan.before) if plan.before is not None else blocks.filter(last_seq__lte=plan.upto)
    with transaction.atomic():
        ids = list(blocks.order_by("last_seq").values_list("pk", flat=True)[:limit])
        return HistoryBlock.objects.filter(pk__in=ids).delete()[0] if ids else 0


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


def removal_steps(clock: Callable[[], datetime], limit: int) -> Steps[int]:
    """One pass of removal as steps (history/job_steps.py), a batch of at most `limit` a step:
    the blocks, then the stream rows, then the runs that retention lets go; then what is folded
    now may go at the next pass; last, plot by plot, the annotations that retention lets go.
    How many rows, blocks, runs and annotations went. `clock` gives the
    time each plan is made as of."""
    total = 0
    for block_plan in (yield partial(plan_block_pruning, clock())):
        total += yield from _batches(partial(delete_blocks, block_plan, limit), limit)
    for plan in (yield partial(plan_pruning, clock())):
        total += yield from _batches(partial(delete_batch, plan, limit), limit)
    for token_id in (yield streams_with_runs):
        total += yield from _batches(partial(forget_runs, token_id, limit), limit)
    yield settle_marks
    for plot_id, retention in (yield Annotation.objects.plots_to_expire):
        total += yield from _batches(partial(Annotation.expire, plot_id, retention, clock(), limit), limit)
    return total


def _batches(batch: Step, limit: int) -> Steps[int]:
    """The batch, again and again until it removes fewer than `limit`; how many went."""
    total = 0
    while (deleted := (yield batch)) > 0:
        total += deleted
        if deleted < limit:
            break
    return total


def prune_history(now: datetime | None = None, limit: int | None = None) -> int:
    """One pass of removal run here to its end, as of `now`: how many rows, blocks and runs
    went. (The history job, `prune_loop`, folds first and runs the same steps through the
    database thread.)"""
    when = now or timezone.now()
    return run_here(removal_steps(lambda: when, limit or PRUNE_BATCH))


async def prune_loop(run_sync: Callable[[Step], Awaitable[Any]]) -> None:
    """Every HISTORY_PRUNE_INTERVAL seconds, one pass: each trace's fold, then each batch of
    removal, a step at a time through `run_sync` (the pipeline's database thread): commits run
    between them, never behind a whole pass."""
    limit = PRUNE_BATCH
    while True:
        await asyncio.sleep(settings.HISTORY_PRUNE_INTERVAL)
        try:
            folded = await run_through(run_sync, fold_steps(timezone.now))
            total = await run_through(run_sync, removal_steps(timezone.now, limit))
            if folded or total:
                log.info("history: %d points folded into blocks, %d rows, blocks and runs removed", folded, total)
        except Exception:
            log.exception("the history job failed; it runs again in %s s", settings.HISTORY_PRUNE_INTERVAL)
