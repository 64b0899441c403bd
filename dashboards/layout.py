"""A dashboard's grid: what a panel may say, and where a panel without a place goes.

Panels sit in a grid of COLUMNS columns and as many rows as they need: `x` (column, from 0),
`y` (row, from 0), `w` (columns), `h` (rows). A panel sent without `x` and `y` goes to the first
free place, reading the grid row by row, left to right (docs/dashboards.md, "Panels").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COLUMNS = 12
# A dashboard's socket holds one send queue per plot (VIEWER_SEND_QUEUE_BYTES each): this bounds
# one socket's memory, and a wall of more live plots than this is not readable anyway.
MAX_PANELS = 32
MAX_ROWS = 200  # y + h stays within it
MAX_HEIGHT = 24
DEFAULT_W, DEFAULT_H = 6, 4
TITLE_LENGTH = 200


class PanelError(ValueError):
    """A panel that cannot be: the message names it ("panel 2: ...", counting from 1)."""


@dataclass(frozen=True, slots=True)
class PanelSpec:
    plot: int
    x: int
    y: int
    w: int
    h: int
    title: str = ""
    # The plot's owner as a Plotly file id names it ("bob:7"), when the panel came from one
    # (checked against the plot's; not part of what the panel is).
    plot_owner: str | None = field(default=None, compare=False)


def _number(item: dict[str, Any], name: str, low: int, high: int, where: str) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PanelError(f"{where}: {name} is a whole number from {low} to {high}.")
    return value


def parse_panels(value: Any) -> list[PanelSpec]:
    """The panels of a request, checked and placed. Raises PanelError naming the first bad one."""
    if not isinstance(value, list):
        raise PanelError('panels is a list: [{"plot": <id>, "x", "y", "w", "h", "title"}, ...].')
    if len(value) > MAX_PANELS:
        raise PanelError(f"a dashboard has at most {MAX_PANELS} panels; this one has {len(value)}.")
    placed: list[PanelSpec | None] = []
    unplaced: list[tuple[int, int, int, int, str]] = []  # (position, plot, w, h, title)
    for position, item in enumerate(value):
        where = f"panel {position + 1}"
        if not isinstance(item, dict):
            raise PanelError(f'{where}: a panel is an object, {{"plot": <id>, ...}}.')
        unknown = set(item) - {"plot", "x", "y", "w", "h", "title"}
        if unknown:
            raise PanelError(f"{where}: unknown field {sorted(unknown)[0]!r}; a panel has plot, x, y, w, h, title.")
        plot = item.get("plot")
        if isinstance(plot, bool) or not isinstance(plot, int) or plot < 1:
            raise PanelError(f"{where}: plot is the id of a plot (a number).")
        title = item.get("title") or ""
        if not isinstance(title, str) or len(title) > TITLE_LENGTH:
            raise PanelError(f"{where}: title is text of at most {TITLE_LENGTH} characters.")
        w = _number(item, "w", 1, COLUMNS, where) or DEFAULT_W
        h = _number(item, "h", 1, MAX_HEIGHT, where) or DEFAULT_H
        x = _number(item, "x", 0, COLUMNS - 1, where)
        y = _number(item, "y", 0, MAX_ROWS - 1, where)
        if (x is None) != (y is None):
            raise PanelError(f"{where}: give both x and y, or neither (then it is placed for you).")
        if x is None or y is None:
            placed.append(None)
            unplaced.append((position, plot, w, h, title))
            continue
        if x + w > COLUMNS:
            raise PanelError(f"{where}: x + w is at most {COLUMNS} (the grid's columns); it is {x + w}.")
        if y + h > MAX_ROWS:
            raise PanelError(f"{where}: y + h is at most {MAX_ROWS}; it is {y + h}.")
        placed.append(PanelSpec(plot, x, y, w, h, title))
    taken = [p for p in placed if p is not None]
    for position, plot, w, h, title in unplaced:
        x, y = free_place(taken, w, h)
        if y + h > MAX_ROWS:
            raise PanelError(f"panel {position + 1}: no free place is left in the grid's {MAX_ROWS} rows.")
        spec = PanelSpec(plot, x, y, w, h, title)
        placed[position] = spec
        taken.append(spec)
    return [p for p in placed if p is not None]


def free_place(taken: list[PanelSpec], w: int, h: int) -> tuple[int, int]:
    """The first place, row by row and left to right, where a `w` x `h` panel overlaps none of `taken`."""
    y = 0
    while True:
        for x in range(COLUMNS - w + 1):
            if not any(_overlap(x, y, w, h, p) for p in taken):
                return x, y
        y += 1


def _overlap(x: int, y: int, w: int, h: int, p: PanelSpec) -> bool:
    return x < p.x + p.w and p.x < x + w and y < p.y + p.h and p.y < y + h
