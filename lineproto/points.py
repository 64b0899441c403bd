"""How a body of InfluxDB line protocol becomes lines of the series' streams. Pure: no I/O.

Each line is read by InfluxDB's grammar (the `line-protocol-parser` package); each of its fields
is a point of one series (measurement, tag set, field), written as the stream line
`{"x": <the line's time as a UTC date>, "y": <the field's value>}` that the ingest core then
takes like any producer's line (docs/ingest.md, "Mapping").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from line_protocol_parser import LineFormatError, parse_line

# Nanoseconds in one unit of each precision InfluxDB's writes name (v2: ns us ms s; v1 also
# n u m h), and the digits of a second the x date keeps for it.
PRECISIONS: dict[str, tuple[int, str]] = {
    "ns": (1, "microseconds"),
    "n": (1, "microseconds"),
    "us": (1_000, "microseconds"),
    "u": (1_000, "microseconds"),
    "ms": (1_000_000, "milliseconds"),
    "s": (1_000_000_000, "seconds"),
    "m": (60_000_000_000, "seconds"),
    "h": (3_600_000_000_000, "seconds"),
}

# A trace's name is the series' name, cut to this many characters (the series is told apart
# by its whole identity, not its name).
MAX_NAME = 200

# How much of a bad line an error message quotes.
QUOTED = 120

_EPOCH = datetime(1970, 1, 1)


class BadPrecision(ValueError):
    """A `precision` that is not one of PRECISIONS."""


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """A series: its measurement, its tag set (sorted by key) and its field."""

    measurement: str
    tags: tuple[tuple[str, str], ...]
    field: str

    @property
    def name(self) -> str:
        """`measurement field tag=value,...`: the name of the series' trace."""
        tags = ",".join(f"{key}={value}" for key, value in self.tags)
        name = f"{self.measurement} {self.field} {tags}" if tags else f"{self.measurement} {self.field}"
        return name if len(name) <= MAX_NAME else f"{name[: MAX_NAME - 1]}…"

    @property
    def digest(self) -> str:
        """The series' identity as 64 hex digits (what lineproto.models.Series stores)."""
        identity = orjson.dumps([self.measurement, [list(tag) for tag in self.tags], self.field])
        return hashlib.sha256(identity).hexdigest()


@dataclass(slots=True)
class Batch:
    """What one body holds: each series' stream lines with the body's line number each came
    from, in the order of the body; the lines that could not be read, with why."""

    points: dict[SeriesKey, list[tuple[int, bytes]]] = field(default_factory=dict)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def point_count(self) -> int:
        return sum(len(lines) for lines in self.points.values())


def quoted(text: str) -> str:
    """A line as an error message quotes it: whole when short, else its start."""
    return text if len(text) <= QUOTED else f"{text[:QUOTED]}…"


def x_of(nanoseconds: int, precision: str) -> str:
    """The instant `nanoseconds` after the epoch as the UTC date a stream line's x takes, to the
    digits `precision` has (a date keeps microseconds at most). ValueError when no date can
    hold it (before year 1 or after 9999)."""
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    try:
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=rest // 1000)
    except OverflowError:
        raise ValueError("the timestamp is out of the range a date holds (years 1 to 9999)") from None
    return moment.isoformat(timespec=PRECISIONS[precision][1])


def read_batch(body: bytes, precision: str, now_ns: int) -> Batch:
    """Read a write's body: every line, each alone (a bad line costs itself only). A line
    without a timestamp takes `now_ns`, the arrival time, at `precision`."""
    if precision not in PRECISIONS:
        raise BadPrecision(f"precision must be one of {', '.join(PRECISIONS)}, not {quoted(precision)!r}")
    unit = PRECISIONS[precision][0]
    now = now_ns - now_ns % unit
    batch = Batch()
    points = batch.points
    for number, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode()
        except UnicodeDecodeError as exc:
            batch.errors.append((number, f"unable to parse line {number}: not valid UTF-8 (byte {exc.start + 1})"))
            continue
        if "\x00" in text:
            batch.errors.append((number, f"unable to parse {quoted(text)!r}: a NUL character"))
            continue
        try:
            point = parse_line(text)
        except LineFormatError as exc:
            batch.errors.append((number, f"unable to parse {quoted(text)!r}: {exc}"))
            continue
        if point is None:  # a comment
            continue
        stamp = point["time"]
        try:
            x = x_of(now if stamp is None else stamp * unit, precision)
        except ValueError as exc:
            batch.errors.append((number, f"unable to parse {quoted(text)!r}: {exc}"))
            continue
        measurement = point["measurement"]
        tags = tuple(sorted(point["tags"].items()))
        for name, value in point["fields"].items():
            # A boolean is plotted as 1 or 0: a stream line takes no booleans.
            y = int(value) if isinstance(value, bool) else value
            points.setdefault(SeriesKey(measurement, tags, name), []).append((number, orjson.dumps({"x": x, "y": y})))
    return batch
