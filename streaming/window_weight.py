"""What a streamed trace's window weighs, kept line by line, to refuse a line that would grow it
past its share of PLOT_DATA_MAX_BYTES (core/figure_schema.trace_bytes_limit).

A line that only appends points (`{"x": 1, "y": 2, "text": "..."}`, the common line) is counted
as its own size in bytes for each point it adds, a bound above what the point adds to the
window's JSON, and a point that leaves the window at `maxpoints` takes its count with it: no
encoding on the common path. Any other line (arrays, styles, a new run) is applied and the
window measured again; near the bound, it is first applied to a copy. Each checkpoint measures
the windows again (streaming/store.py), so the counts never drift far from the truth.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from core.figure_schema import json_bytes
from core.protocol import APPENDABLE, LineRejected, Update
from core.window import apply_update, point_count, point_lists


class WindowWeight:
    """One trace window's weight in bytes (a count per point, and its bound), and the per-point
    lists it holds. A line that only appends points creates no list: both stay true without
    looking at the window again."""

    __slots__ = ("limit", "lists", "sizes", "total")

    def __init__(self, spec: dict[str, Any], limit: int) -> None:
        self.limit = limit
        self.measure(spec)

    def measure(self, spec: dict[str, Any], unweighable: int = 0) -> None:
        """Weigh the window as stored; its points share the weight evenly. A window the encoder
        cannot write (never one a parsed line made; the commit refuses it) weighs `unweighable`.
        Also notes which per-point lists it holds (what apply_update's common path needs)."""
        self.lists = point_lists(spec)
        try:
            self.total = json_bytes(spec)
        except (TypeError, ValueError, RecursionError):
            self.total = unweighable
        points = point_count(spec)
        self.sizes = deque([self.total // points] * points) if points else deque()

    def check(self, spec: dict[str, Any], update: Update, maxpoints: int, where: str) -> int | None:
        """Raise LineRejected if `update` would leave the window heavier than its bound and
        heavier than it was; else return its weight after a line that only appends points
        (None for another line, measured once applied). Changes nothing."""
        if update.run is None and _appends_points(spec, update):
            total = self.total + update.size
            if maxpoints and len(self.sizes) >= maxpoints:
                total -= self.sizes[0]
            self._check(total, where)
            return total
        if self.total + update.size > self.limit:
            trial = copy.deepcopy(spec)
            apply_update(trial, update, maxpoints)
            self._check(json_bytes(trial), where)
        return None

    def apply(self, spec: dict[str, Any], update: Update, maxpoints: int, total: int | None) -> dict[str, Any]:
        """Apply `update` (core/window.apply_update) once `check` returned `total`; its delta."""
        delta = apply_update(spec, update, maxpoints, self.lists)
        if total is None:
            if update.trace or update.run is not None:
                self.measure(spec, unweighable=self.total + update.size)
        elif maxpoints:
            if len(self.sizes) >= maxpoints:
                self.sizes.popleft()
            self.sizes.append(update.size)
            self.total = total
        return delta

    def _check(self, total: int, where: str) -> None:
        if total > self.limit and total > self.total:
            raise LineRejected(
                f"{where}: the window would be about {total} bytes, more than its share of "
                f"PLOT_DATA_MAX_BYTES ({self.limit} bytes); send smaller points or lower maxpoints"
            )


def _appends_points(spec: dict[str, Any], update: Update) -> bool:
    """The update adds one point to lists the window holds, and does nothing else."""
    for path, value in update.trace.items():
        if type(value) is list or path not in APPENDABLE or type(spec.get(path)) is not list:
            return False
    return True
