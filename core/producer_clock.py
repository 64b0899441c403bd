"""Plotly's `plotly-convertTimestamp` header: x in milliseconds of the producer's own clock.

Plotly's Arduino library sends `x` as `millis()`, the milliseconds since the board booted, with
the header `plotly-convertTimestamp: "America/Montreal"`, and Plotly's server turned each x into
the local date and time of that zone. A board has no calendar, so the first x of a connection is
anchored at the time it arrived, and every x becomes that time plus its difference from the
first. Pure: the session gives the clock the time each line arrived (docs/streaming.md,
"Milliseconds turned into dates").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.protocol import LineRejected, Update

HEADER = "plotly-converttimestamp"

# How Plotly's date axes read a date: the zone's wall clock, to the microsecond, no offset.
DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UnknownZone(ValueError):
    """The header names no time zone this server knows."""


def zone_named(header: str) -> ZoneInfo:
    """The zone a `plotly-convertTimestamp` value names, quoted (as the Arduino sends it) or not."""
    name = header.strip().strip('"').strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, or no zone name at all ("../x", "")
        raise UnknownZone(
            f'plotly-convertTimestamp: unknown time zone {name!r}: name an IANA zone, such as "America/Montreal"'
        ) from None


class ProducerClock:
    """One connection's conversion of x from the producer's milliseconds to dates in `zone`."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.anchor: tuple[float, datetime] | None = None  # the first x, and when it arrived

    def convert(self, update: Update, arrived: datetime) -> None:
        """Turn the update's x (a number, or an array of numbers and nulls) into dates, in place,
        and the x and x_end its annotation names, if any: they are the same clock's. `arrived` is
        an aware datetime: when the line came."""
        if "x" in update.trace:
            x = update.trace["x"]
            if isinstance(x, list):
                update.trace["x"] = [None if item is None else self._date(item, arrived) for item in x]
            elif x is not None:
                update.trace["x"] = self._date(x, arrived)
        if update.annotation is not None:
            for key in ("x", "x_end"):
                if update.annotation.get(key) is not None:
                    update.annotation[key] = self._date(update.annotation[key], arrived)

    def _date(self, millis: object, arrived: datetime) -> str:
        if isinstance(millis, bool) or not isinstance(millis, (int, float)):
            raise LineRejected(
                f"x: with plotly-convertTimestamp, x is the producer's clock in milliseconds (a number), not {millis!r}"
            )
        if self.anchor is None:
            self.anchor = (millis, arrived)
        first, at = self.anchor
        try:
            moment = at + timedelta(milliseconds=millis - first)
            return moment.astimezone(self.zone).strftime(DATE_FORMAT)
        except OverflowError:
            raise LineRejected(f"x: {millis!r} ms from the first x ({first!r}) is past the years 1 to 9999") from None
