"""Points as CSV, the one writer: a trace's window (the page's `.csv` link, web/views.py) and
a download of its history (`?format=csv`, history/views.py) both write through `csv_pages`.

The layout: a header row of attribute paths, then a row per point; the value of column `path`
on row i is the i-th value of that path's list, Plotly's rule for per-point arrays (a list
shorter than the points leaves its last rows empty). A null is an empty cell, a nested value
(a list, or an object an edited spec holds) its JSON. A writer of pages fixes its header at the
first page: an attribute that first appears in a later page is not a column. No page at all
is a header of x and y alone. A text value that a spreadsheet would run as a formula
(`=HYPERLINK(...)`, `@SUM(...)`) is written with a leading apostrophe (`neutralised`).

Both downloads of a trace are written alike: the columns in the protocol's order of per-point
attributes (coordinates first, core/protocol.py), a nested value as compact JSON (`[1,2]`), and a
value on the row of the point it came with (core/window.py starts an attribute a trace lacked
with nulls for the points before it, as history does).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping

import orjson

from core.protocol import PER_POINT_ATTRIBUTES

# One page of points: each attribute path to its values, and how many points (rows) it has.
Page = tuple[Mapping[str, list], int]

_PROTOCOL_POSITION = {path: position for position, path in enumerate(PER_POINT_ATTRIBUTES)}


def protocol_order(paths: Iterable[str]) -> list[str]:
    """The protocol's order of per-point attributes (core/protocol.py), coordinates first."""
    return sorted(paths, key=lambda path: (_PROTOCOL_POSITION.get(path, len(_PROTOCOL_POSITION)), path))


def _nested_json(value: object) -> str:
    return orjson.dumps(value).decode()


def csv_pages(pages: Iterable[Page]) -> Iterator[bytes]:
    """The points as CSV (UTF-8, CRLF rows), a chunk of bytes per page as it is read."""
    header: list[str] | None = None
    for values, count in pages:
        out = io.StringIO()
        writer = csv.writer(out)
        if header is None:
            header = protocol_order(values)
            writer.writerow(header)
        columns = [_aligned(values.get(path), count) for path in header]
        writer.writerows([_cell(value) for value in row] for row in zip(*columns, strict=True))
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


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _nested_json(value)
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
