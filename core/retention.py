"""What a plot keeps of its streams' points: the retention rule, parsed and written one way.

`"window"` keeps what the rolling window and returning viewers need (the stream's checkpoint
trims the rest, streaming/store.py); `"12h"`, `"7d"` keep every row younger than that;
`"100000000 points"` keeps the rows of the newest that many lines of the stream; `"forever"`
keeps everything. docs/history.md says what each one costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WINDOW = "window"
FOREVER = "forever"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A century: longer is "forever" in all but name, and keeps datetime arithmetic in range.
MAX_SECONDS = 100 * 365 * 86400
MAX_POINTS = 10**15
_DURATION = re.compile(r"^(\d{1,10})\s*([smhdw])$")
_POINTS = re.compile(r"^(\d{1,16})\s*points?$")

HELP = (
    '"window" (only the rolling window), a duration such as "12h", "7d" or "30d" (units s, m, h, d, w), '
    '"forever", or a point count such as "100000000 points".'
)


@dataclass(frozen=True)
class Retention:
    """A parsed rule: `seconds` for a duration, `points` for a count; neither for window/forever."""

    kind: str  # "window", "duration", "points", "forever"
    seconds: int = 0
    points: int = 0

    def __str__(self) -> str:
        if self.kind == "duration":
            for unit in "dhms":  # the largest unit that divides it ("2w" is "14d")
                size = UNITS[unit]
                if self.seconds % size == 0:
                    return f"{self.seconds // size}{unit}"
        if self.kind == "points":
            return f"{self.points} point" if self.points == 1 else f"{self.points} points"
        return self.kind


def parse_retention(text: object) -> Retention:
    """The rule a retention string names; ValueError with a message a user can act on."""
    if not isinstance(text, str):
        raise ValueError(f"Retention is a string: {HELP}")
    value = " ".join(text.strip().lower().split()).replace(",", "").replace("_", "")
    if value in (WINDOW, FOREVER):
        return Retention(value)
    if match := _DURATION.match(value):
        seconds = int(match[1]) * UNITS[match[2]]
        if not 0 < seconds <= MAX_SECONDS:
            raise ValueError(f'A retention duration is from 1s to 36500d (use "forever" for longer), not {text!r}.')
        return Retention("duration", seconds=seconds)
    if match := _POINTS.match(value):
        points = int(match[1])
        if not 0 < points <= MAX_POINTS:
            raise ValueError(f"A retention point count is from 1 to {MAX_POINTS}, not {text!r}.")
        return Retention("points", points=points)
    raise ValueError(f"Not a retention: {text!r}. Use {HELP}")


def normalize_retention(text: object) -> str:
    """The one spelling a rule is stored in ("7 D" and "7d" are the same rule)."""
    return str(parse_retention(text))


def validate_retention(text: object) -> None:
    """A model and form field validator."""
    from django.core.exceptions import ValidationError

    try:
        parse_retention(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def server_default() -> str:
    """A new plot's retention: PLOT_RETENTION_DEFAULT."""
    from django.conf import settings

    return normalize_retention(settings.PLOT_RETENTION_DEFAULT)
