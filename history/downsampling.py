"""Which points of a range a read answers with, and their values: the points ordered by x and,
past `max_points`, downsampled (min/max or LTTB, by tsdownsample) or cut.

`choose` decides from the range's x axis and y alone (numbers: 16 bytes a point); `pick` then
takes the chosen points' values from the range's pages as they are read again, one page at a
time (history/range_answer.py), so no read holds the range's other attributes whole.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tsdownsample import LTTBDownsampler, MinMaxDownsampler

from history.bounds import BadRange
from history.columns import Columns, take

METHODS = ("none", "minmax", "lttb")


def choose(axis: np.ndarray, y: np.ndarray | None, method: str, max_points: int) -> tuple[np.ndarray, bool]:
    """The positions (in the order the range is read) of the points to answer with, in the
    answer's order (by x), and whether `method` none cut the range. `y`: the range's y as
    numbers (NaN where not one), None when no point has a y."""
    total = len(axis)
    in_order = not total or bool(np.all(axis[1:] >= axis[:-1]))  # a stream's x usually are
    order = np.arange(total) if in_order else np.argsort(axis, kind="stable")
    if total <= max_points:
        return order, False
    if method == "none":
        return order[:max_points], True
    if y is None:
        raise BadRange("This trace has no y to downsample by: use `method`=none.", "method")
    x = axis
    if not in_order:
        x, y = x[order], y[order]
    usable = ~(np.isnan(x) | np.isnan(y))
    if not usable.all():
        order, x, y = order[usable], x[usable], y[usable]
    if len(order) > max_points:
        order = order[_downsample(method, x, y, max_points)]
    return order, False


def pick(pages: Iterable[Columns], order: np.ndarray, total: int) -> dict[str, list]:
    """The values of the points at `order` (positions among the first `total` points of
    `pages`, read in the same order as when they were chosen), as columns in `order`'s order.
    Every attribute a page names is a column (null where a point has none)."""
    slots = np.argsort(order, kind="stable")  # where each position, taken in read order, goes
    wanted = order[slots]
    values: dict[str, list] = {}
    at, taken = 0, 0
    for page in pages:
        for path in page.values:
            values.setdefault(path, [None] * len(order))
        end = min(at + page.count, total)
        upto = int(np.searchsorted(wanted, end))
        if upto > taken:
            local, places = wanted[taken:upto] - at, slots[taken:upto].tolist()
            for path, column in page.values.items():
                column_values = values[path]
                for place, value in zip(places, take(column, local), strict=True):
                    column_values[place] = value
            taken = upto
        at = end
        if at >= total:
            break
    return values


def _downsample(method: str, x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indexes of at most `max_points` of the points (x ascending), by tsdownsample."""
    if method == "minmax":
        return MinMaxDownsampler().downsample(x, y, n_out=max_points - max_points % 2)
    return LTTBDownsampler().downsample(x, y, n_out=max_points)
