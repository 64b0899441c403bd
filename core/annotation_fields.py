"""What an annotation's fields may hold: the one rule, for the REST API and for stream lines.

Pure functions of the values (and the limits in settings); the model (core/models/annotations.py)
does the actions, the line parser (core/protocol.py) reads the stream form with these same checks.
docs/annotations.md is the reference.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from typing import Any

from _plotly_utils.basevalidators import ColorValidator
from django.conf import settings

from core.instants import NotAnInstant, in_declared_zone

# The longest x (a date or a category) and colour, in characters.
MAX_X_CHARS = 64
MAX_COLOR_CHARS = 64
# What every drawn shape and Plotly annotation of ours is named, followed by the id: the page
# tells them from the owner's own by it, and a layout saved with them drops them (`without_drawn`).
DRAWN_NAME = "plotserver-annotation-"
# What a stream line's `annotation` object may hold; its x is the stream's own unless given.
STREAM_KEYS = frozenset({"text", "x", "x_end", "color"})


class AnnotationInvalid(ValueError):
    """A field that cannot be stored: `field` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_text(value: object) -> str:
    limit = settings.ANNOTATION_TEXT_MAX_CHARS
    if not isinstance(value, str) or not value.strip():
        raise AnnotationInvalid("text", "a text is required: a non-empty string")
    if len(value) > limit:
        raise AnnotationInvalid(
            "text", f"a text has at most {limit} characters (ANNOTATION_TEXT_MAX_CHARS), this one {len(value)}"
        )
    if "\x00" in value:
        raise AnnotationInvalid("text", "a text holds a NUL character")
    return value


def check_x(value: object, field: str = "x") -> float | int | str:
    """A position on the x axis: a finite number, or a string (a date, with an offset read as
    its instant in UTC as for streamed points, or a category)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise AnnotationInvalid(field, "expected a number or a string (a date or a category)")
    if isinstance(value, float) and not math.isfinite(value):
        raise AnnotationInvalid(field, "expected a finite number")
    if isinstance(value, str):
        if not value or len(value) > MAX_X_CHARS or "\x00" in value:
            raise AnnotationInvalid(field, f"expected a string of 1 to {MAX_X_CHARS} characters")
        try:
            return in_declared_zone(value)
        except NotAnInstant as exc:
            raise AnnotationInvalid(field, str(exc)) from None
    return value


def check_span(x: float | int | str, x_end: float | int | str | None) -> None:
    """A span runs forwards: `x_end` is of x's kind and not before it (dates and numbers)."""
    if x_end is None:
        return
    if isinstance(x, str) != isinstance(x_end, str):
        raise AnnotationInvalid("x_end", "x and x_end are both numbers or both strings")
    if isinstance(x, str) and isinstance(x_end, str):
        start, end = _as_date(x), _as_date(x_end)
        if start is not None and end is not None and end < start:
            raise AnnotationInvalid("x_end", "a span ends at or after its x")
    elif not isinstance(x, str) and not isinstance(x_end, str) and x_end < x:
        raise AnnotationInvalid("x_end", "a span ends at or after its x")


def check_color(value: object) -> str:
    """A colour as Plotly takes one ("red", "#e45756", "rgba(0,0,0,0.5)"); "" for the default."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > MAX_COLOR_CHARS:
        raise AnnotationInvalid("color", f"a colour is a string of at most {MAX_COLOR_CHARS} characters")
    try:
        _color_validator().validate_coerce(value)
    except ValueError:
        raise AnnotationInvalid("color", f"{value!r} is not a colour (a name, #rrggbb, rgb() or rgba())") from None
    return value


def check_stream_form(value: object) -> dict[str, Any]:
    """A stream line's `{"annotation": {...}}`: its fields checked; `x` only when the line gave one
    (the writer places it at the stream's current x otherwise)."""
    if not isinstance(value, dict):
        raise AnnotationInvalid("annotation", 'expected an object such as {"text": "valve open"}')
    unknown = sorted(set(value) - STREAM_KEYS)
    if unknown:
        raise AnnotationInvalid(unknown[0], f"not a field of an annotation (it has {', '.join(sorted(STREAM_KEYS))})")
    fields: dict[str, Any] = {"text": check_text(value.get("text")), "color": check_color(value.get("color"))}
    if "x" in value:
        fields["x"] = check_x(value["x"])
    if value.get("x_end") is not None:
        if "x" not in fields:
            raise AnnotationInvalid("x_end", "a span in a stream line gives its x too")
        fields["x_end"] = check_x(value["x_end"], "x_end")
        check_span(fields["x"], fields["x_end"])
    return fields


def without_drawn(layout: dict[str, Any]) -> dict[str, Any]:
    """`layout` without the shapes and Plotly annotations drawn for plotserver's annotations
    (named DRAWN_NAME...): a figure a viewer read, saved back as the layout, keeps none of them,
    as they are drawn anew from the annotations. `layout` itself when it holds none."""
    drawn = {
        key: [item for item in items if not _is_drawn(item)]
        for key in ("shapes", "annotations")
        if isinstance(items := layout.get(key), list) and any(_is_drawn(item) for item in items)
    }
    return {**layout, **drawn} if drawn else layout


def _is_drawn(item: object) -> bool:
    return isinstance(item, dict) and isinstance(name := item.get("name"), str) and name.startswith(DRAWN_NAME)


def _as_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@cache
def _color_validator() -> ColorValidator:
    return ColorValidator("color", "annotation")


def check_room(plot_id: int, adding: int, held: int) -> None:
    """A plot holding `held` annotations takes `adding` more: within ANNOTATIONS_PER_PLOT?"""
    limit = settings.ANNOTATIONS_PER_PLOT
    if held + adding > limit:
        raise AnnotationInvalid(
            "plot",
            f"plot {plot_id} has {held} annotations, the most a plot holds is {limit} (ANNOTATIONS_PER_PLOT): "
            "delete some first",
        )
