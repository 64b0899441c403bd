"""Points as CSV, the one writer: a trace's window (the page's `.csv` link, web/views.py) and
a download of its history (`?format=csv`, history/views.py) both write through `csv_pages`.

The layout: a header row of attribute paths, then a row per point; the value of column `path`
on row i is the i-th value of that path's list, Plotly's rule for per-point arrays (a list
shorter than the points leaves its last rows empty). A null is an empty cell, a nested value
(a list, or an object an edited spec holds) its JSON. A writer of pages fixes its header at the
first page: an attribute that first appears in a later page is not a column. No page at all
is a header of x and y alone. A text value that a spreadsheet would run as a formula
(`=HYPERLINK(...)`, `@SUM(...)`) is written with a leading apostrophe (`neutralised`).

The two callers differ today in two rules, kept as the two layouts below: the order of the
columns and how a nested value is spelled as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import orjson

from core.protocol import PER_POINT_ATTRIBUTES

# One page of points: each attribute path to its values, and how many points (rows) it has.
Page = tuple[Mapping[str, list], int]

_PROTOCOL_POSITION = {path: position for position, path in enumerate(PER_POINT_ATTRIBUTES)}


def protocol_order(paths: Iterable[str]) -> list[str]:
    """The protocol's order of per-point attributes (core/protocol.py), coordinates first."""
    return sorted(paths, key=lambda path: (_PROTOCOL_POSITION.get(path, len(_PROTOCOL_POSITION)), path))


def x_y_first(paths: Iterable[str]) -> list[str]:
    """x, then y, then the others by name."""
    return sorted(paths, key=lambda path: (path not in ("x", "y"), path != "x", path))


def _spaced_json(value: object) -> str:
    return json.dumps(value)


def _compact_json(value: object) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class Layout:
    """The rules a caller chooses: the order of the columns, the JSON of a nested value."""

    order: Callable[[Iterable[str]], list[str]]
    nested: Callable[[object], str]


# A trace's window: the protocol's order; nested values as Python's json writes them ([1, 2]).
WINDOW_CSV = Layout(order=protocol_order, nested=_spaced_json)
# A history download: x, y, then by name; nested values as compact JSON ([1,2]).
HISTORY_CSV = Layout(order=x_y_first, nested=_compact_json)


def csv_pages(pages: Iterable[Page], layout: Layout) -> Iterator[bytes]:
    """The points as CSV (UTF-8, CRLF rows), a chunk of bytes per page as it is read."""
    header: list[str] | None = None
    for values, count in pages:
        out = io.StringIO()
        writer = csv.writer(out)
        if header is None:
            header = layout.order(values)
            writer.writerow(header)
        columns = [_aligned(values.get(path), count) for path in header]
        writer.writerows([_cell(value, layout) for value in row] for row in zip(*columns, strict=True))
        yield out.getvalue().encode()
    if header is None:
        yield b"x,y\r\n"


def _aligned(column: list | None, count: int) -> list:
    """The column's values for rows 0 to count - 1: its i-th value on row i, null past its end."""
    if not column:
        return [None] * count
    if len(column) < count:
        return [*column, *([None] * (count - len(column)))]
    return column


# A cell a spreadsheet would read as a formula begins with one of these (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object, layout: Layout) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return layout.nested(value)
    if isinstance(value, str):
        return neutralised(value)
    return value


def neutralised(text: str) -> str:
    """A text cell that a spreadsheet opening the file shows as text and never runs: one that
    begins like a formula gets a leading apostrophe, as OWASP advises. A number written as text
    ("-3.5") stays as it is: a spreadsheet reads it as that number, which runs nothing."""
    if not text.startswith(FORMULA_STARTS) or _is_number(text):
        return text
    return "'" + text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text
