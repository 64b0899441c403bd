"""Dates with a UTC offset, read as the instants they name: the one rule, for streams and REST.

plotly.js drops the offset of a date string (it draws "06:22+01:00" at 06:22), while history
ranges compare dates as instants. So a coordinate date that carries an offset (`Z`, `+hh:mm`,
`-hh:mm`, `+hhmm`, `+hh`) is rewritten as it arrives to the wall-clock time of the same instant
in the declared zone, UTC, without an offset: "2026-12-07T00:21-05:00" becomes
"2026-12-07T05:21:00". A date without an offset is kept as sent and read as UTC. The window,
the stored history, CSV, the API and the page then all hold the same instant (docs/streaming.md,
"Dates").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# The zone every date is drawn and compared in: the page labels its date axes with it.
DECLARED_ZONE = "UTC"

# The coordinates a date axis can show; their string values (alone or in an array) follow the rule.
DATED = frozenset({"x", "y", "z"})

# Plotly's own spelling of a date with a time and an offset (its DATETIME_REGEXP), in full years.
_WITH_OFFSET = re.compile(
    r"(\d{4}-\d\d-\d\d)([Tt ])(\d\d:\d\d(?::\d\d(?:\.(\d+))?)?)(Z|z|[+-]\d\d(?::?\d\d)?)",
    re.ASCII,  # digits 0-9 only: a date in other digits is text, kept as sent
)

# The shortest date with an offset: "2026-12-07T05:20Z".
_SHORTEST = 17


class NotAnInstant(ValueError):
    """A string spelled as a date with an offset that names no instant (a 30th of February);
    `path` names the coordinate that held it, where known."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


def in_declared_zone(value: str) -> str:
    """`value` as the wall clock of its instant in UTC if it is a date with an offset, else
    `value` itself. Raises NotAnInstant for a date with an offset that is not a real one.

    Called for every string coordinate of every stream line: the common string (a date without
    an offset, a category) is turned away by its length and last characters alone.
    """
    if len(value) < _SHORTEST:
        return value
    if not (value[-1] in "Zz" or value[-3] in "+-" or value[-5] in "+-" or value[-6] in "+-"):
        return value
    match = _WITH_OFFSET.fullmatch(value)
    if match is None:
        return value
    day, separator, clock, fraction, offset = match.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if offset in 'Zz' else offset}").astimezone(UTC)
    except ValueError as exc:
        raise NotAnInstant(f"{value!r} is not a date ({exc})") from None
    except OverflowError:
        raise NotAnInstant(f"{value!r} is a date outside the years 1 to 9999 in {DECLARED_ZONE}") from None
    timespec = "seconds" if not fraction else "milliseconds" if len(fraction) <= 3 else "microseconds"
    return moment.replace(tzinfo=None).isoformat(sep="T" if separator in "Tt" else " ", timespec=timespec)


def coordinate_in_declared_zone(value: object) -> object:
    """A coordinate's value (a string, or an array of values) with every date that carries an
    offset rewritten by in_declared_zone; anything else as it was."""
    if isinstance(value, str):
        return in_declared_zone(value)
    if isinstance(value, list):
        return [in_declared_zone(item) if isinstance(item, str) else item for item in value]
    return value


def trace_in_declared_zone(spec: dict) -> dict:
    """A Plotly trace with the dates of its coordinates (DATED) in the declared zone; a
    NotAnInstant names the coordinate in its `path`."""
    out = dict(spec)
    for key in DATED.intersection(spec):
        try:
            out[key] = coordinate_in_declared_zone(spec[key])
        except NotAnInstant as exc:
            raise NotAnInstant(str(exc), key) from None
    return out
