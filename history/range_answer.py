"""The answer of a range read (`/api/plots/<id>/traces/<n>/points/`), holding what it returns
and little more.

Two passes over the range's pages (history/range_reads.py), in one consistent read so that both
see the same points: the first keeps each point's x and y as numbers (16 bytes a point, at most
HISTORY_READ_MAX_POINTS of them) and the pages themselves only while the range fits in
`max_points`; `choose` (history/downsampling.py) picks the points from x and y, and the second
pass takes the chosen points' values from the pages as they are read again, a page at a time.
A 2,000-point answer from 300,000 points of text holds 2,000 texts, not 300,000.
"""

from __future__ import annotations

import numpy as np

from core.models import Trace
from core.models.windows import consistent_read
from history.blocks import Packed
from history.bounds import Bound, numbers
from history.columns import Columns
from history.downsampling import choose, pick
from history.range_reads import range_pages, too_many_points
from history.run_spans import RunSpan


def range_answer(
    trace: Trace,
    start: Bound | None,
    end: Bound | None,
    method: str,
    max_points: int,
    limit: int,
    run: RunSpan | None = None,
) -> dict:
    """At most `max_points` of the points in [start, end] (of one run, if given), ordered by x,
    downsampled by `method`: `total`, `returned`, `truncated` and the `points` as columns. More
    than `limit` points in the range is a BadRange."""
    with consistent_read():
        axes: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        small: list[Columns] | None = []  # the pages, while they fit in the answer
        total, has_y = 0, False
        for page, (axis, _) in range_pages(trace, start, end, run):
            total += page.count
            if total > limit:
                raise too_many_points(limit, start)
            axes.append(axis)
            column = page.values.get("y")
            has_y = has_y or column is not None
            ys.append(_y_numbers(column, page.count))
            if small is not None and total <= max_points:
                small.append(page)
            else:
                small = None
        axis = np.concatenate(axes) if axes else np.empty(0)
        y = np.concatenate(ys) if has_y and ys else None
        order, truncated = choose(axis, y, method, max_points)
        pages = small if small is not None else (page for page, _ in range_pages(trace, start, end, run))
        values = pick(pages, order, total)
    if "x" not in values and total:
        values = {"x": axis[order].astype(np.int64).tolist(), **values}
    return {"total": total, "returned": len(order), "truncated": truncated, "points": values}


def _y_numbers(column: object, count: int) -> np.ndarray:
    if column is None:
        return np.full(count, np.nan)
    if isinstance(column, Packed):
        return column.numbers()
    assert isinstance(column, list)
    return numbers(column)
