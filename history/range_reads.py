"""Reading a trace's stored history: its points, a page at a time, whole or in a range of x.

A trace's history is the points its stream appended (the `extend` deltas of the stored rows,
core/models/streams.py), in the order they were accepted, as far back as the plot's retention
keeps rows. A plot that keeps only its window, and a trace without a stream, read their
current window instead. A line that replaces a trace's arrays with longer ones resets the
window but adds no history points. Bounds and the x axis: history/bounds.py; the answer of a
range read, downsampled: history/downsampling.py.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import orjson

from core.models import HistoryBlock, HistoryFold, Trace
from core.models.windows import consistent_read, traces_with_windows
from core.protocol import APPENDABLE, PER_POINT_ATTRIBUTES
from core.window import get_path
from history.blocks import from_bytes
from history.bounds import BadRange, Bound, check_kind, ranged_pages
from history.columns import Column, Columns, joined
from history.run_spans import RunSpan
from history.stored_updates import page_end, plot_update_rows

# Rows read per query by a download: one page of the (token, last_seq) index at a time.
PAGE_ROWS = 200
# Updates a page of stored rows holds, about: a fast stream stores hundreds a row, so a page of
# PAGE_ROWS rows alone could be a whole range (what a read holds at once: history.md).
PAGE_UPDATES = 2000
# Blocks loaded per query by a range read (a few thousand points each).
PAGE_BLOCKS = 32


def _keeps_history(trace: Trace) -> bool:
    """Whether the trace's history is kept (Trace.objects.keeping_history, the one rule)."""
    return Trace.objects.keeping_history().filter(pk=trace.pk).exists()


def history_pages(trace: Trace, page_rows: int = PAGE_ROWS, run: RunSpan | None = None) -> Iterator[Columns]:
    """The trace's history, oldest first, a block or a page of stored rows at a time: its
    folded blocks, then the stream's rows after them (keyset pages of the (trace, last_seq)
    and (token, last_seq) indexes: memory stays one page, however long the history). `run`:
    only that run's points."""
    if not _keeps_history(trace):
        yield _current_window(trace, run)
        return
    written, folded = 0, folded_seq(trace)
    # Until no fold happened meanwhile: blocks folded while the earlier ones were written out
    # start just after them, and the updates after the fold's mark are read as rows.
    while ids := list(_blocks(trace, folded, run).filter(last_seq__gt=written).values_list("pk", "last_seq")):
        for pk, _ in ids:  # a few per million points
            yield block_columns(HistoryBlock.objects.get(pk=pk)).as_lists()
        written, folded = ids[-1][1], folded_seq(trace)
    yield from _row_pages(trace, folded, page_rows, run)


def folded_seq(trace: Trace) -> int:
    """The newest stream row the trace's blocks hold (0: none)."""
    seq = HistoryFold.objects.filter(trace=trace, token_id=trace.stream_token_id or 0).values_list("seq", flat=True)
    return seq.first() or 0


def _blocks(trace: Trace, folded: int, run: RunSpan | None = None):
    """The trace's blocks up to `folded`; of one run only (no block holds two runs)."""
    blocks = HistoryBlock.objects.filter(trace=trace, token_id=trace.stream_token_id or 0, last_seq__lte=folded)
    if run is not None:
        blocks = blocks.filter(last_seq__gte=run.first_seq)
        if run.last_seq is not None:
            blocks = blocks.filter(last_seq__lte=run.last_seq)
    return blocks.order_by("last_seq", "pk")


def block_columns(block: HistoryBlock) -> Columns:
    """A block's points, its packed columns left packed."""
    values: dict[str, Column] = {}
    for path, kind in block.layout:
        if kind == "j":
            values[path] = (block.attributes or {})[path]
        else:
            values[path] = from_bytes(kind, bytes(getattr(block, path)), block.count)
    return Columns(values, block.count)


def _row_pages(trace: Trace, after: int, page_rows: int, run: RunSpan | None = None) -> Iterator[Columns]:
    """The points of the stream's updates after `after` (a fold may end inside a row, at a run's
    start), a page of rows at a time; of one run only when `run` is given."""
    key = str(trace.index)
    first = after + 1 if run is None else max(after + 1, run.first_seq)
    last = None if run is None else run.last_seq
    cursor_at, token = first - 1, trace.stream_token_id
    assert token is not None
    while True:
        end = page_end(token, cursor_at, page_rows, PAGE_UPDATES)
        rows = [] if end is None else plot_update_rows(token, trace.plot_id, cursor_at, page_rows, end)
        columns = Columns({})
        with _collector_paused():
            for _, last_seq, _, text in rows:
                cursor_at = last_seq
                add_updates(columns, orjson.loads(text) if text else [], key, first, last)
        columns.padded()
        yield columns
        if not rows or (last is not None and cursor_at >= last):
            return


def add_updates(columns: Columns, updates: list, key: str, first: int = 0, last: int | None = None) -> None:
    """The points of these stored updates, of those numbered from `first` to `last` only."""
    for update in updates:
        if first and (update["seq"] < first or (last is not None and update["seq"] > last)):
            continue
        delta = update["traces"].get(key)
        if not delta:
            continue
        if "set" in delta:
            columns.add({**delta.get("extend", {}), **_set_point(delta["set"], "extend" in delta)})
        elif "extend" in delta:
            columns.add(delta["extend"])


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Decoding a page makes hundreds of thousands of small objects, none in a cycle: the
    cyclic collector would rescan the heap many times over meanwhile (measured: 6 times the cost)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _set_point(values: dict, appending: bool) -> dict[str, list]:
    """The point a `set` delta adds to the history, if any. A scalar that starts an attribute
    (the first `text` of a trace, or the first x of a trace made without an x list) is stored
    as a set of the new list, whose last value is the point's. A line that replaces arrays of
    more than one value is a new window, not a point: nothing."""
    point = {p: v[-1:] for p, v in values.items() if p in APPENDABLE and isinstance(v, list) and v}
    if not appending and any(len(values[p]) != 1 for p in point):
        return {}
    return point


def read_range(
    trace: Trace, start: Bound | None, end: Bound | None, limit: int, run: RunSpan | None = None
) -> tuple[Columns, np.ndarray]:
    """The points of the trace's history inside [start, end] (of one run, if given), with their
    x axis, all at once. More than `limit` points in the range is a BadRange. (A range read's
    answer holds only what it returns: history/range_answer.py.)"""
    with consistent_read():
        return _gathered(range_pages(trace, start, end, run), start, limit)


def range_pages(
    trace: Trace, start: Bound | None, end: Bound | None, run: RunSpan | None = None
) -> Iterator[tuple[Columns, tuple[np.ndarray, bool | None]]]:
    """The points of the trace's history inside [start, end] (of one run, if given), a page at
    a time, each with its x axis: the folded blocks that overlap the range (their columns left
    packed), then the stream's rows after them, cut to the range as read. Read it inside
    `consistent_read()`: the blocks and the rows after them as of one instant (a fold, and the
    removal of the rows it folded, committing in between would show points twice or not at all),
    and the same points however often it is read in that transaction."""
    if not _keeps_history(trace):
        yield from ranged_pages(iter([_current_window(trace, run)]), start, end)
        return
    yield from _ranged_history(trace, folded_seq(trace), start, end, run)


def too_many_points(limit: int, start: Bound | None) -> BadRange:
    """A range of more than `limit` points (HISTORY_READ_MAX_POINTS) is not read whole."""
    return BadRange(
        f"The range holds more than {limit} points: narrow `from`/`to`, or download it (?format=csv).",
        "from" if start is not None else "to",
    )


def _ranged_history(
    trace: Trace, folded: int, start: Bound | None, end: Bound | None, run: RunSpan | None
) -> Iterator[tuple[Columns, tuple[np.ndarray, bool | None]]]:
    blocks = list(_blocks(trace, folded, run).values_list("pk", "count", "low_x", "high_x", "x_dates", "layout"))
    for _, _, _, _, is_date, _ in blocks:
        check_kind(is_date, start, end)
    offset, wanted, skipped = 0, [], None
    for pk, count, low, high, _, layout in blocks:
        # A block without usable x (numbered, or x of no kind) is always read: in_range decides.
        if low is None or ((start is None or high >= start.value) and (end is None or low <= end.value)):
            wanted.append((pk, offset))
        else:
            skipped = skipped or layout
        offset += count
    if skipped:  # the attributes of points outside the range are still named in the answer
        yield Columns({path: [] for path, _ in skipped}), (np.empty(0), None)
    for first in range(0, len(wanted), PAGE_BLOCKS):
        page = wanted[first : first + PAGE_BLOCKS]
        loaded = HistoryBlock.objects.in_bulk([pk for pk, _ in page])
        for pk, block_offset in page:
            yield from ranged_pages(iter([block_columns(loaded[pk])]), start, end, block_offset)
    # Pages of up to PAGE_UPDATES rows (a row holds one update or more): page_end bounds them.
    yield from ranged_pages(_row_pages(trace, folded, PAGE_UPDATES, run), start, end, offset)


def _gathered(
    ranged: Iterator[tuple[Columns, tuple[np.ndarray, bool | None]]], start: Bound | None, limit: int
) -> tuple[Columns, np.ndarray]:
    pages, axes, kept = [], [], 0
    for page, (axis, _) in ranged:
        kept += page.count
        if kept > limit:
            raise too_many_points(limit, start)
        pages.append(page)
        axes.append(axis)
    return joined(pages, kept), np.concatenate(axes) if axes else np.empty(0)


def _current_window(trace: Trace, run: RunSpan | None) -> Columns:
    """What a trace that keeps no history holds: its current window, which is of the current
    run only."""
    return _window(trace) if run is None or run.last_seq is None else Columns({})


def _window(trace: Trace) -> Columns:
    """The current window of a trace that keeps no more (or has no stream)."""
    (trace,) = traces_with_windows(Trace.objects.filter(pk=trace.pk))
    values: dict[str, Column] = {}
    for path in PER_POINT_ATTRIBUTES:  # the protocol's one list, coordinates first
        column = get_path(trace.spec, path)
        if isinstance(column, list):
            values[path] = list(column)
    columns = Columns(values, max((len(v) for v in values.values()), default=0))
    columns.padded()
    return columns
