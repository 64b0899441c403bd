"""Ranges of x: parsing a range's bounds, the x axis of a page of points, and which points a
range keeps.

Ranges compare x (docs/history.md): numbers with numbers; dates (Plotly's date strings,
"2026-11-28 21:55:00.123" or ISO 8601 with a T) with dates, as instants, a string without a
time zone read as UTC; a bound with an offset is the instant it names, by the rule points follow
(core/instants.py). A trace without x is numbered 0, 1, 2, … from its oldest kept point.
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from core.instants import NotAnInstant, in_declared_zone
from history.blocks import Packed
from history.columns import Columns, subset


class BadRange(ValueError):
    """A range or parameter that does not fit the trace (a 400 naming `field`)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# Dates compare as float64 microseconds, exact within 2**53 us of 1970 (about 285 years): a date
# bound is accepted inside these years only, so that no stored point is ever too close to a
# bound to compare exactly (a point beyond them is beyond every bound, as it should be).
FIRST_DATE, LAST_DATE = "1700-01-01", "2250-12-31T23:59:59.999999"
_DATE_LIMITS = (
    float(np.datetime64(FIRST_DATE, "us").astype(np.int64)),
    float(np.datetime64(LAST_DATE, "us").astype(np.int64)),
)


@dataclass(frozen=True)
class Bound:
    """One end of a range: a number, or a date as microseconds since the epoch."""

    value: float
    is_date: bool


def parse_bound(text: str | None, name: str) -> Bound | None:
    if text is None or text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise BadRange(f"`{name}` is a finite number or a date, not {text!r}.", name)
        return Bound(number, False)
    try:
        micros = _dates([in_declared_zone(text)])[0]
    except NotAnInstant as exc:
        raise BadRange(f"`{name}`: {exc}.", name) from None
    if np.isnan(micros):
        hint = " (a + in a URL is a space: write an offset +01:00 as %2B01:00)" if _SPACED_OFFSET.search(text) else ""
        raise BadRange(f"`{name}` is a number or a date (2026-11-28, 2026-11-28 21:55:00.5), not {text!r}{hint}.", name)
    if not _DATE_LIMITS[0] <= micros <= _DATE_LIMITS[1]:
        raise BadRange(f"`{name}` is a date from {FIRST_DATE} to {LAST_DATE[:10]}, not {text!r}.", name)
    return Bound(float(micros), True)


# A date whose offset's + a query string turned into a space ("...06:20:30 01:00").
_SPACED_OFFSET = re.compile(r"\d\d:\d\d(?::\d\d(?:\.\d+)?)? \d\d(?::?\d\d)?$")


def _dates(values: list) -> np.ndarray:
    """Microseconds since the epoch of each date string (NaN where a value is not a date)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's notice that an offset in a string was applied
        try:
            return np.array(values, dtype="datetime64[us]").astype(np.int64).astype(np.float64)
        except (ValueError, TypeError):
            out = np.full(len(values), np.nan)
            for i, value in enumerate(values):
                with contextlib.suppress(ValueError):
                    out[i] = np.datetime64(value, "us").astype(np.int64) if isinstance(value, str) else np.nan
            return out


def numbers(values: list) -> np.ndarray:
    """Each value as a float64 (NaN where it is not a number)."""
    try:
        return np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        return np.array(
            [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values],
            dtype=np.float64,
        )


def x_axis(columns: Columns, offset: int = 0) -> tuple[np.ndarray, bool | None]:
    """The x of each point as a float64 axis, and whether it holds dates (None: no point has
    an x). Points whose x is neither (null, a stray string) get NaN: outside every range. A
    trace without x is numbered from `offset`, the points before this page."""
    xs = columns.values.get("x")
    if xs is None:
        return np.arange(offset, offset + columns.count, dtype=np.float64), False
    if isinstance(xs, Packed):
        return xs.axis(), xs.kind.startswith("d")
    first = next((v for v in xs if v is not None), None)
    if first is None:
        return np.full(columns.count, np.nan), None
    if isinstance(first, str):
        return _dates(xs), True
    return numbers(xs), False


def in_range(axis: np.ndarray, is_date: bool | None, start: Bound | None, end: Bound | None) -> np.ndarray:
    """The indexes of the points inside [start, end], in stream order."""
    check_kind(is_date, start, end)
    keep = np.ones(len(axis), dtype=bool) if start is None and end is None else ~np.isnan(axis)
    if start is not None:
        keep &= axis >= start.value
    if end is not None:
        keep &= axis <= end.value
    return np.flatnonzero(keep)


def check_kind(is_date: bool | None, start: Bound | None, end: Bound | None) -> None:
    """A bound of the other kind than the x (a number against dates) is a BadRange."""
    for bound, name in ((start, "from"), (end, "to")):
        if bound is not None and is_date is not None and bound.is_date != is_date:
            kind = "dates" if is_date else "numbers"
            raise BadRange(f"This trace's x are {kind}: give `{name}` as {'a date' if is_date else 'a number'}.", name)


def ranged_pages(
    pages: Iterator[Columns], start: Bound | None, end: Bound | None, offset: int = 0
) -> Iterator[tuple[Columns, tuple[np.ndarray, bool | None]]]:
    """Each page cut to [start, end], with the x axis of what is left and whether x are dates
    (`offset`: the points before the first page, which a trace without x is numbered after)."""
    for page in pages:
        if page.count == 0:  # nothing to compare: no kind to check the bounds against
            yield page, (np.empty(0), None)
            continue
        axis, is_date = x_axis(page, offset)
        offset += page.count
        keep = in_range(axis, is_date, start, end)
        if len(keep) < page.count:
            page = Columns({path: subset(column, keep) for path, column in page.values.items()}, len(keep))
            axis = axis[keep]
        yield page, (axis, is_date)
