"""The answer of a range read: the points of the range ordered by x and, past `max_points`,
downsampled (min/max or LTTB, by tsdownsample) or cut."""

from __future__ import annotations

import numpy as np
from tsdownsample import LTTBDownsampler, MinMaxDownsampler

from history.blocks import Packed
from history.bounds import BadRange, numbers
from history.columns import Columns, take

METHODS = ("none", "minmax", "lttb")


def select(columns: Columns, axis: np.ndarray, method: str, max_points: int) -> dict:
    """The answer of a range read from the points of the range (history/range_reads.py
    `read_range`): at most `max_points` of them, ordered by x, downsampled by `method`, as
    columns."""
    total = columns.count
    in_order = not total or bool(np.all(axis[1:] >= axis[:-1]))  # a stream's x usually are
    order = np.arange(total) if in_order else np.argsort(axis, kind="stable")
    truncated = False
    if method == "none":
        if total > max_points:
            order, truncated = order[:max_points], True
    elif total > max_points:
        ys = columns.values.get("y")
        if ys is None:
            raise BadRange("This trace has no y to downsample by: use `method`=none.", "method")
        y = ys.numbers() if isinstance(ys, Packed) else numbers(ys)
        x = axis
        if not in_order:
            x, y = x[order], y[order]
        usable = ~(np.isnan(x) | np.isnan(y))
        if not usable.all():
            order, x, y = order[usable], x[usable], y[usable]
        if len(order) > max_points:
            order = order[_downsample(method, x, y, max_points)]
    values = {}
    for path, column in columns.values.items():
        values[path] = take(column, order)
    if "x" not in values and columns.count:
        values = {"x": axis[order].astype(np.int64).tolist(), **values}
    return {"total": total, "returned": len(order), "truncated": truncated, "points": values}


def _downsample(method: str, x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indexes of at most `max_points` of the points (x ascending), by tsdownsample."""
    if method == "minmax":
        return MinMaxDownsampler().downsample(x, y, n_out=max_points - max_points % 2)
    return LTTBDownsampler().downsample(x, y, n_out=max_points)
