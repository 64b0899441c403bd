"""What an image request asks for, checked: the format, the size and the scale, and the bounds on
the figure to draw (its points and its bytes). Pure functions; every refusal says what is accepted."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

# The formats and the content type each is answered with.
FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml", "pdf": "application/pdf"}
# plotly.js's own default size when the figure's layout names none: Plotly's image server's too.
DEFAULT_WIDTH, DEFAULT_HEIGHT = 700, 500
MIN_SIDE, MAX_SIDE = 10, 5000
MIN_SCALE, MAX_SCALE = 0.1, 10.0


class ImageRefused(APIException):
    """An image not drawn, and why: 400 (what was asked), 413 (the figure is too big), 503 (busy)."""

    def __init__(self, status_code: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        if retry_after is not None:
            self.wait = retry_after  # DRF's exception handler sends it as Retry-After


@dataclass(frozen=True)
class ImageOptions:
    format: str
    width: int
    height: int
    scale: float

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]


def image_options(format: object, width: object, height: object, scale: object, layout: object) -> ImageOptions:
    """The options of one image, checked. Width and height default to the layout's, else 700 x 500;
    scale to 1. `format` may be any case ("PNG"); "jpg" is taken for "jpeg"."""
    name = format.lower() if isinstance(format, str) else ""
    name = "jpeg" if name == "jpg" else name
    if name not in FORMATS:
        raise ImageRefused(400, f"format is one of {', '.join(FORMATS)}, not {format!r}.")
    layout = layout if isinstance(layout, dict) else {}
    chosen_width = _side("width", width, layout.get("width"), DEFAULT_WIDTH)
    chosen_height = _side("height", height, layout.get("height"), DEFAULT_HEIGHT)
    chosen_scale = _number("scale", scale, 1.0, MIN_SCALE, MAX_SCALE)
    pixels = chosen_width * chosen_height * chosen_scale * chosen_scale
    if pixels > settings.IMAGE_MAX_PIXELS:
        raise ImageRefused(
            400,
            f"{chosen_width} x {chosen_height} at scale {chosen_scale:g} is {pixels:,.0f} pixels; at most"
            f" {settings.IMAGE_MAX_PIXELS:,} (IMAGE_MAX_PIXELS): ask for a smaller width, height or scale.",
        )
    return ImageOptions(name, chosen_width, chosen_height, chosen_scale)


def _side(name: str, asked: object, from_layout: object, default: int) -> int:
    if asked is None or asked == "":
        if isinstance(from_layout, (int, float)) and MIN_SIDE <= from_layout <= MAX_SIDE:
            return round(from_layout)
        return default
    value = _number(name, asked, float(default), MIN_SIDE, MAX_SIDE)
    if value != int(value):
        raise ImageRefused(400, f"{name} is a whole number of pixels, {MIN_SIDE} to {MAX_SIDE}, not {asked!r}.")
    return int(value)


def _number(name: str, asked: object, default: float, low: float, high: float) -> float:
    if asked is None or asked == "":
        return default
    try:
        value = float(asked) if isinstance(asked, (int, float, str)) and not isinstance(asked, bool) else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ImageRefused(400, f"{name} is a number from {low:g} to {high:g}, not {asked!r}.")
    return value


def plotly_figure(value: object) -> dict:
    """A posted figure, checked for its shape: {"data": [traces], "layout": {...}}, either optional.
    A bare list of traces is taken as the data, as Plotly's clients also send it."""
    figure = {"data": value} if isinstance(value, list) else value
    if not isinstance(figure, dict):
        raise ImageRefused(400, 'figure is {"data": [traces], "layout": {...}}.')
    data = figure.get("data")
    data = [] if data is None else data
    layout = figure.get("layout")
    layout = {} if layout is None else layout
    if not isinstance(data, list) or not all(isinstance(trace, dict) for trace in data):
        raise ImageRefused(400, "figure.data is a list of traces, each a JSON object.")
    if not isinstance(layout, dict):
        raise ImageRefused(400, "figure.layout is a JSON object.")
    return {**figure, "data": data, "layout": layout}


def figure_points(figure: dict) -> int:
    """The points a figure asks plotly.js to draw: for each trace its largest array (x, y, z,
    marker.color, dimensions, cells.values, ...), an array of arrays or objects counting every
    value inside it; summed over the traces."""
    return sum(_largest_array(trace) for trace in figure.get("data") or [] if isinstance(trace, dict))


def _largest_array(node: dict) -> int:
    largest = 0
    for value in node.values():
        if isinstance(value, list):
            largest = max(largest, _values(value))
        elif isinstance(value, dict):
            largest = max(largest, _largest_array(value))
    return largest


def _values(items: list) -> int:
    # Nesting is bounded: by the API's JSON depth limit for a posted figure, by the figure schema
    # for a stored one.
    count = 0
    for item in items:
        if isinstance(item, list):
            count += _values(item)
        elif isinstance(item, dict):
            count += sum(_values(v) if isinstance(v, list) else 1 for v in item.values())
        else:
            count += 1
    return count


def check_figure_bounds(figure: dict, encoded_bytes: int) -> None:
    """413 for a figure past IMAGE_MAX_FIGURE_BYTES (as JSON) or IMAGE_MAX_POINTS."""
    if encoded_bytes > settings.IMAGE_MAX_FIGURE_BYTES:
        raise ImageRefused(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"The figure is {encoded_bytes:,} bytes as JSON; images are drawn of figures of at most"
            f" {settings.IMAGE_MAX_FIGURE_BYTES:,} (IMAGE_MAX_FIGURE_BYTES).",
        )
    points = figure_points(figure)
    if points > settings.IMAGE_MAX_POINTS:
        raise ImageRefused(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"The figure has {points:,} points; images are drawn of figures of at most"
            f" {settings.IMAGE_MAX_POINTS:,} (IMAGE_MAX_POINTS).",
        )
