"""What a streamed trace's window weighs, kept line by line, to refuse a line that would grow it
past its share of PLOT_DATA_MAX_BYTES (core/figure_schema.trace_bytes_limit).

A line that only appends points (`{"x": 1, "y": 2, "text": "..."}`, the common line) is counted
as its own size in bytes for each point it adds, a bound above what the point adds to the
window's JSON, and a point that leaves the window at `maxpoints` takes its count with it: no
encoding on the common path. Any other line (arrays, styles, a new run) is applied and the
window measured again; near the bound (or when one value would become one a point), it is first
applied to a copy. A writer weighs its windows afresh whenever it takes them (its start, an edit
of its traces), and after every line that is not a plain append.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from core.figure_schema import json_bytes
from core.protocol import APPENDABLE, LineRejected, Update
from core.window import append_points, apply_update, get_path, point_count, point_lists

# What a null a line leaves in a per-point list weighs in the window's JSON ("null,").
NULL_BYTES = 5


class WindowWeight:
    """One trace window's weight in bytes (a count per point, and its bound), and the per-point
    lists it holds. A line that only appends points creates no list: both stay true without
    looking at the window again."""

    __slots__ = ("limit", "lists", "one_pass", "plain_lists", "sizes", "total")

    def __init__(self, spec: dict[str, Any], limit: int) -> None:
        self.limit = limit
        self.measure(spec)

    def measure(self, spec: dict[str, Any], unweighable: int = 0) -> None:
        """Weigh the window as stored; its points share the weight evenly. A window the encoder
        cannot write (never one a parsed line made; the commit refuses it) weighs `unweighable`.
        Also notes which per-point lists it holds (what apply_update's common path needs)."""
        self.lists = point_lists(spec)
        # The lists a line fills in one pass when it carries a value for each (none nested).
        self.plain_lists = None if any("." in path for path in self.lists) else self.lists
        self.one_pass = False
        try:
            self.total = json_bytes(spec)
        except (TypeError, ValueError, RecursionError):
            self.total = unweighable
        points = point_count(spec)
        self.sizes = deque([self.total // points] * points) if points else deque()

    def check(self, spec: dict[str, Any], update: Update, maxpoints: int, plot_id: int, key: str) -> int | None:
        """Raise LineRejected if `update` would leave the window heavier than its bound and
        heavier than it was; else return its weight after a line that only appends points
        (None for another line, measured once applied). Changes nothing but which way `apply`
        goes: the common line (a value for each of the window's per-point lists, and nothing
        else) in one pass."""
        if update.points_only and update.trace.keys() == self.plain_lists:
            total = self.total + update.size
            if maxpoints and len(self.sizes) >= maxpoints:
                total -= self.sizes[0]
            if total > self.limit and total > self.total:
                self._check(total, plot_id, key)
            self.one_pass = True
            return total
        self.one_pass = False
        if not update.trace and update.run is None:
            return None  # a layout change alone: the window stays as it is
        if update.run is None and _appends_points(spec, update):
            # Each per-point list the line leaves out may get a null (core/window.py).
            left_out = 0 if update.trace.keys() >= self.lists else len(self.lists - update.trace.keys())
            total = self.total + update.size + NULL_BYTES * left_out
            if maxpoints and len(self.sizes) >= maxpoints:
                total -= self.sizes[0]
            self._check(total, plot_id, key)
            return total
        if self.total + update.size > self.limit or _fills(spec, update):
            # Near the bound, or a value that becomes one a point (a trace-wide value turned
            # per-point, a first `text` with a null for each earlier point): tried on a copy.
            trial = copy.deepcopy(spec)
            apply_update(trial, update, maxpoints)
            self._check(json_bytes(trial), plot_id, key)
        return None

    def apply(self, spec: dict[str, Any], update: Update, maxpoints: int, total: int | None) -> dict[str, Any]:
        """Apply `update` (core/window.apply_update) once `check` returned `total`; its delta."""
        if self.one_pass:
            assert total is not None  # check() counted the point
            delta = append_points(spec, update.trace, maxpoints)
            if maxpoints:
                evicted = self.sizes.popleft() if len(self.sizes) >= maxpoints else 0
                self.sizes.append(total - self.total + evicted)  # what the new point weighs
                self.total = total
            return delta
        delta = apply_update(spec, update, maxpoints, self.lists)
        if total is None or "set" in delta:
            # Weighed again: a line that is not a plain append, or one whose points reshaped the
            # window (a list started, an empty x dropped): its lists are not what they were.
            if update.trace or update.run is not None:
                self.measure(spec, unweighable=(self.total if total is None else total) + update.size)
        elif maxpoints:
            evicted = self.sizes.popleft() if len(self.sizes) >= maxpoints else 0
            self.sizes.append(total - self.total + evicted)  # what the new point weighs
            self.total = total
        return delta

    def _check(self, total: int, plot_id: int, key: str) -> None:
        if total > self.limit and total > self.total:
            raise LineRejected(
                f"plot {plot_id}, trace {key}: the window would be about {total} bytes, more than its share "
                f"of PLOT_DATA_MAX_BYTES ({self.limit} bytes); send smaller points or lower maxpoints"
            )


def _appends_points(spec: dict[str, Any], update: Update) -> bool:
    """The update adds one point to lists the window holds, and does nothing else."""
    for path, value in update.trace.items():
        if type(value) is list or path not in APPENDABLE:
            return False
        current = spec.get(path) if "." not in path else get_path(spec, path)
        if type(current) is not list:
            return False
    return True


def _fills(spec: dict[str, Any], update: Update) -> bool:
    """A scalar goes to a per-point attribute the window does not hold as a list: the window
    may then hold it once a point."""
    return any(
        path in APPENDABLE and type(value) is not list and not isinstance(get_path(spec, path), list)
        for path, value in update.trace.items()
    )
