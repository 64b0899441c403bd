"""Columns of points packed as arrays, and back: what a HistoryBlock stores (core/models/history.py).

A column whose values are all numbers, or all date strings written in one format, is packed
(8 bytes a point before compression, consecutive whole numbers and dates delta-coded so that
regular x compress to almost nothing); anything else (text, nulls, mixed kinds, dates with a
time zone) stays a JSON list. Unpacking gives back the very values that were packed: whole
numbers as ints, floats as floats, dates in the spelling they were sent in.
"""

from __future__ import annotations

import re
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

# Whole numbers beyond this are kept as JSON: their deltas must not overflow int64, and a
# float64 must hold them exactly where ints and floats mix.
_EXACT = 2**53
# Date spellings that pack: Plotly's "2026-11-28 21:55:00.123" and ISO "2026-11-28T21:55:00",
# to the day, second, millisecond or microsecond (numpy writes them back the same way).
_DATE = re.compile(r"^\d{4}-\d\d-\d\d(?:([ T])\d\d:\d\d:\d\d(?:\.(\d{3}|\d{6}))?)?$")


@dataclass
class Packed:
    """One packed column: `data` int64 (kinds "i" and "d ...") or float64 ("f", "m"), with a
    whole-number mask for "m". Python values are made only for the points an answer takes."""

    kind: str
    data: np.ndarray
    ints: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.data)

    def take(self, indexes: np.ndarray) -> list:
        """The Python values at `indexes`, as they were sent."""
        data = self.data[indexes]
        if self.kind == "m":
            assert self.ints is not None
            return [int(v) if whole else v for v, whole in zip(data.tolist(), self.ints[indexes].tolist(), strict=True)]
        if self.kind.startswith("d"):
            sep, unit = self.kind[2], self.kind[3:]
            text = np.datetime_as_string(
                data.astype("datetime64[us]").astype(f"datetime64[{unit}]"), unit=cast(Any, unit)
            )
            return np.char.replace(text, "T", sep).tolist() if sep != "T" else text.tolist()
        return data.tolist()

    def tolist(self) -> list:
        return self.take(np.arange(len(self.data)))

    def subset(self, indexes: np.ndarray) -> Packed:
        return Packed(self.kind, self.data[indexes], None if self.ints is None else self.ints[indexes])

    def axis(self) -> np.ndarray:
        """The values as a range compares them: numbers, or dates as microseconds."""
        return self.data.astype(np.float64)

    def numbers(self) -> np.ndarray:
        """The values as y to downsample by: dates are not numbers (NaN)."""
        return np.full(len(self.data), np.nan) if self.kind.startswith("d") else self.axis()

    def mixed(self) -> Packed:
        """A column of numbers as kind "m" (floats, and which were whole numbers)."""
        if self.kind == "m":
            return self
        return Packed("m", self.data.astype(np.float64), np.full(len(self.data), self.kind == "i"))

    @staticmethod
    def join(parts: list[Packed]) -> Packed | None:
        """Columns one after the other; None when they cannot be one packed column (dates of
        different spellings, dates and numbers)."""
        if not parts:
            return None
        kinds = {part.kind for part in parts}
        if len(kinds) > 1:
            if not kinds <= {"i", "f", "m"}:
                return None
            parts = [part.mixed() for part in parts]
        ints = None if parts[0].ints is None else np.concatenate([p.ints for p in parts if p.ints is not None])
        return Packed(parts[0].kind, np.concatenate([p.data for p in parts]), ints)


def pack(values: list) -> Packed | None:
    """The column packed, or None when it must stay JSON."""
    if not values:
        return None
    first = values[0]
    if isinstance(first, str):
        return _pack_dates(values)
    kinds = {type(v) for v in values}
    if kinds == {int}:
        if any(not -_EXACT < v < _EXACT for v in values):
            return None
        return Packed("i", np.array(values, dtype=np.int64))
    if kinds == {float}:
        return Packed("f", np.array(values, dtype=np.float64))
    if kinds == {int, float}:
        if any(not -_EXACT < v < _EXACT for v in values):
            return None
        return Packed("m", np.array(values, dtype=np.float64), np.array([type(v) is int for v in values]))
    return None


def _pack_dates(values: list) -> Packed | None:
    if not all(isinstance(v, str) for v in values):
        return None
    match = _DATE.match(values[0])
    if match is None:
        return None
    sep = match[1] or "T"
    unit = "D" if match[1] is None else "s" if match[2] is None else "ms" if len(match[2]) == 3 else "us"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            micros = np.array(values, dtype="datetime64[us]").astype(np.int64)
    except (ValueError, TypeError):
        return None
    packed = Packed(f"d {sep}{unit}", micros)
    if packed.tolist() != values:  # another spelling among them: keep them as sent
        return None
    return packed


def to_bytes(column: Packed) -> bytes:
    """The column as stored: whole numbers and dates as deltas (first value first), zlib
    compressed (fast level: regular deltas shrink to almost nothing, and fewer bytes cross
    from the database on a read); floats as they are (they seldom compress)."""
    if column.kind == "i" or column.kind.startswith("d"):
        return zlib.compress(np.diff(column.data, prepend=np.int64(0)).astype("<i8").tobytes(), 1)
    data = column.data.astype("<f8").tobytes()
    if column.kind == "m":
        assert column.ints is not None
        data += np.packbits(column.ints).tobytes()
    return data


def from_bytes(kind: str, data: bytes, count: int) -> Packed:
    if kind == "i" or kind.startswith("d"):
        deltas = np.frombuffer(zlib.decompress(data), dtype="<i8", count=count)
        return Packed(kind, np.cumsum(deltas).astype(np.int64))
    values = np.frombuffer(data, dtype="<f8", count=count).astype(np.float64)
    if kind == "m":
        ints = np.unpackbits(np.frombuffer(data, dtype=np.uint8, offset=8 * count), count=count).astype(bool)
        return Packed(kind, values, ints)
    return Packed(kind, values)
