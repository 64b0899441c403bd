"""The folding job: a trace's checkpointed stream rows, copied into blocks of packed columns.

For every trace whose plot keeps history (retention other than "window"), the rows of its
stream after its HistoryFold mark and up to its checkpoint (rows a checkpoint holds are final:
no late row can come before them) are decoded exactly as a range read decodes them
(history/range_reads.py) and written as HistoryBlock rows of BLOCK_POINTS points; a block
ends at a row's end, or where a run starts (history/run_spans.py): no block holds points of two
runs, so a read of one run skips the others' blocks whole (the mark then stops inside a row,
and the next fold takes the row's updates after it). Fewer points than a block wait for more
rows, until the oldest of them is HISTORY_FOLD_AGE seconds old. The blocks and the mark move
in one transaction, and the mark by compare-and-set: an update is folded once, whichever
process gets there first. The folded rows are then removed by the pruning job (history/pruning.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from core.models import HistoryBlock, HistoryFold, Run, Trace, TraceCheckpoint
from history.blocks import pack, to_bytes
from history.bounds import x_axis
from history.columns import Columns, as_list
from history.job_steps import Steps, run_here
from history.range_reads import add_updates
from history.stored_updates import aware, plot_update_rows

# Stored rows decoded per query while folding.
FOLD_PAGE_ROWS = 200
# Points a history block holds: a block is written once that many are waiting, or with fewer once
# the oldest row waiting is HISTORY_FOLD_AGE seconds old (docs/history.md).
BLOCK_POINTS = 4096
PACKED = ("x", "y")


class FoldConflict(Exception):
    """Another process moved the trace's mark meanwhile: its fold stands, this one is dropped."""


def history_trace_ids() -> list[int]:
    """The traces whose history is folded: streamed, on a plot that keeps more than its window."""
    return list(Trace.objects.keeping_history().order_by("pk").values_list("pk", flat=True))


def fold_steps(clock: Callable[[], datetime]) -> Steps[int]:
    """One pass of folding as steps (history/job_steps.py): every history trace folded as far
    as it is ready, a transaction's worth a step; how many points were folded. `clock` gives
    the time each step folds as of."""
    total = 0
    for trace_id in (yield history_trace_ids):
        while (folded := (yield partial(fold_trace, trace_id, clock()))) > 0:
            total += folded
    return total


def fold_history(now: datetime | None = None) -> int:
    """One pass of folding run here to its end, as of `now` (the history job runs the same
    steps through the database thread, history/pruning.py `prune_loop`); how many points were
    folded."""
    when = now or datetime.now(UTC)
    return run_here(fold_steps(lambda: when))


def fold_trace(trace_id: int, now: datetime) -> int:
    """Fold the trace's next rows that are ready into blocks, one transaction's worth (about a
    block: the database thread that runs this serves live commits between calls); how many
    points were folded (0: nothing more is ready)."""
    trace = Trace.objects.keeping_history().select_related("plot").filter(pk=trace_id).first()
    if trace is None:
        return 0
    token = trace.stream_token_id
    assert token is not None
    upto = TraceCheckpoint.objects.filter(trace=trace, token_id=token).values_list("seq", flat=True).first() or 0
    try:
        mark, _ = HistoryFold.objects.get_or_create(trace=trace, defaults={"token_id": token})
    except IntegrityError:  # another process made it this instant
        return 0
    if mark.token_id != token:
        _restart(trace, mark, token)
        return 0
    after = read = mark.seq
    group, first_seq, oldest, newest, last_seq = Columns({}), 0, None, None, 0
    key = str(trace.index)
    starts = _run_starts(token, after, upto)
    try:
        while rows := _rows(token, trace.plot_id, read, upto):
            for row_first, row_last, time, text in rows:
                updates = orjson.loads(text) if text else []
                first_seq = first_seq or max(row_first, after + 1)
                oldest = oldest or time
                begin = read + 1
                for start in (start for start in starts if begin <= start <= row_last):
                    before = group.count
                    add_updates(group, updates, key, begin, start - 1)
                    if group.count:  # a run starts in this row: the block ends just before it
                        _write(
                            trace, token, after, first_seq, start - 1, time if group.count > before else newest, group
                        )
                        return group.count
                    first_seq = begin = start
                add_updates(group, updates, key, begin)
                newest, last_seq, read = time, row_last, row_last
                if group.count >= BLOCK_POINTS:
                    _write(trace, token, after, first_seq, last_seq, newest, group)
                    return group.count
            if len(rows) < FOLD_PAGE_ROWS:
                break
        if oldest is not None and (group.count == 0 or oldest <= now - timedelta(seconds=settings.HISTORY_FOLD_AGE)):
            _write(trace, token, after, first_seq, last_seq, newest, group)
            return group.count
    except FoldConflict:
        pass
    return 0


def _run_starts(token: int, after: int, upto: int) -> list[int]:
    """Where the runs that start after update `after`, up to `upto`, begin."""
    runs = Run.objects.filter(token_id=token, first_seq__gt=after, first_seq__lte=upto)
    return list(runs.order_by("first_seq").values_list("first_seq", flat=True))


def settle_marks() -> None:
    """The end of a pass: what is folded now may be removed at the next one."""
    HistoryFold.objects.filter(removable__lt=F("seq")).update(removable=F("seq"))


def _restart(trace: Trace, mark: HistoryFold, token: int) -> None:
    """The trace streams from another token now: its history starts over from that stream."""
    with transaction.atomic():
        moved = HistoryFold.objects.filter(trace=trace, token_id=mark.token_id, seq=mark.seq)
        if moved.update(token_id=token, seq=0, removable=0):
            HistoryBlock.objects.filter(trace=trace).exclude(token_id=token).delete()


def _rows(token: int, plot_id: int, after: int, upto: int) -> list[tuple[int, int, datetime, str | None]]:
    """A page of the stream's rows in (after, upto]: sequence numbers, time, and this plot's
    updates as JSON text."""
    rows = plot_update_rows(token, plot_id, after, FOLD_PAGE_ROWS, upto)
    return [(first, last, aware(time), text) for first, last, time, text in rows]


def _write(trace: Trace, token: int, after: int, first_seq: int, last_seq: int, time, group: Columns) -> None:
    """The group's points as blocks, and the mark moved to `last_seq`, in one transaction."""
    group.padded()
    size = BLOCK_POINTS
    blocks = [
        encode_block(
            trace.pk,
            token,
            first_seq,
            last_seq,
            time,
            Columns(
                {path: as_list(values)[start : start + size] for path, values in group.values.items()},
                min(size, group.count - start),
            ),
        )
        for start in range(0, group.count, size)
    ]
    with transaction.atomic():
        if not HistoryFold.objects.filter(trace=trace, token_id=token, seq=after).update(seq=last_seq):
            raise FoldConflict
        HistoryBlock.objects.bulk_create(blocks)


def encode_block(trace_id: int, token: int, first_seq: int, last_seq: int, time, columns: Columns) -> HistoryBlock:
    """One block of points: x and y packed when they can be, the rest as JSON lists."""
    block = HistoryBlock(
        trace_id=trace_id, token_id=token, first_seq=first_seq, last_seq=last_seq, time=time, count=columns.count
    )
    layout, attributes = [], {}
    for path, column in columns.values.items():
        values = as_list(column)
        if path not in PACKED and all(v is None for v in values):
            continue  # an attribute none of these points has: null when read, as absent
        packed = pack(values) if path in PACKED else None
        if packed is None:
            layout.append([path, "j"])
            attributes[path] = values
        else:
            layout.append([path, packed.kind])
            setattr(block, path, to_bytes(packed))
    block.layout, block.attributes = layout, attributes or None
    axis, block.x_dates = x_axis(columns)
    if "x" in columns.values:
        finite = axis[~np.isnan(axis)]
        if finite.size:
            block.low_x, block.high_x = float(finite.min()), float(finite.max())
    return block
