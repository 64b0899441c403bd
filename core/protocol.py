"""How a stream's lines become updates: line parsing (the framing of bytes into lines is
core/line_framing.py).

Pure functions; no I/O. docs/streaming.md is the reference
a producer reads; this module is where it is enforced.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.annotation_fields import AnnotationInvalid, check_stream_form
from core.figure_schema import check_layout, check_setting, suggestion, upgrade_layout
from core.instants import DATED, NotAnInstant, coordinate_in_declared_zone, in_declared_zone

MAX_ARRAY_LENGTH = 10000

# How deeply a line may nest objects and arrays. A point value is at most an array of arrays
# (`customdata: [[1, 2]]`), an attribute path three keys deep; layouts get more room
# (annotations, shapes). A deeper line is rejected here, before anything walks it.
MAX_DEPTH = 20

# Per-point attributes: a scalar appends one value, an array replaces the whole attribute.
# These are the attributes Plotly's streaming server accepted (its `streamable` flags), the
# coordinates of every trace type that plotly.js draws, and the per-point styles. This is the
# one list: the window rules, clearing a window, the CSV export and the admin all read it.
#
# COORDINATES are the ones whose length is the number of points a trace shows, in the order a
# table of points puts them first; the other per-point attributes follow them.
COORDINATES = ("x", "y", "z", "lat", "lon", "r", "theta", "a", "b", "c", "values", "open", "high", "low", "close")
PER_POINT_ATTRIBUTES = (
    *COORDINATES,
    *"""
    text hovertext customdata ids u v w labels parents base width
    marker.color marker.size marker.opacity marker.symbol marker.line.color marker.line.width
    error_x.array error_x.arrayminus error_y.array error_y.arrayminus
    error_z.array error_z.arrayminus
    """.split(),
)
APPENDABLE = frozenset(PER_POINT_ATTRIBUTES)

# Whole-trace styles: any value sets the attribute, as Plotly.restyle would.
SETTABLE = frozenset(
    """
    name mode visible opacity showlegend
    line.color line.width line.dash line.shape
    marker.colorscale marker.cmin marker.cmax
    error_x.color error_y.color error_z.color error_x.value error_y.value error_z.value
    error_x.visible error_y.visible error_z.visible
    xbins.size ybins.size xbins.start xbins.end ybins.start ybins.end contours.size
    font.color font.size textfont.color textfont.size
    """.split()
)

# The key that starts a new run of the stream (docs/streaming.md, "Runs"): `"new"`, or an object
# naming the run. The line's own points, if any, are the run's first.
RUN_KEY = "run"
MAX_RUN_NAME = 100

# The key that marks an event on the stream's plots (docs/annotations.md): `{"text": ...}`, at the
# stream's current x unless it gives one (core/annotation_fields.py checks its fields).
ANNOTATION_KEY = "annotation"

# Keys a producer may send that are not trace attributes and are ignored on purpose:
# Plotly's clients pop `type`; raw producers often leave it in.
IGNORED_KEYS = frozenset({"type"})


class LineRejected(ValueError):
    """A line that cannot be applied. The stream goes on; the line is counted as rejected.

    `token` is the stream token the line named (`parse_line(named=True)`), when it named one."""

    token: str | None = None


# The key a line names its stream token by, on a connection without a `plotly-streamtoken` header
# (Plotly's Arduino library: docs/streaming.md, "Lines that name their token").
TOKEN_KEY = "streamtoken"


@dataclass(slots=True)
class Update:
    """One accepted line: trace attributes by dotted path, and a layout change by dotted path."""

    trace: dict[str, object] = field(default_factory=dict)
    layout: dict[str, object] = field(default_factory=dict)
    run: str | None = None  # the name of the run this line starts ("" unnamed); None: no new run
    annotation: dict[str, Any] | None = None  # the annotation this line marks (text, color, maybe x)
    size: int = 0  # the line's length in bytes: what each point it appends counts in a window's weight
    # Every trace attribute of the line is a number or a string for a per-point attribute (the
    # common line, {"x": 1, "y": 2.5}): what a writer's one-pass path needs to know of it.
    points_only: bool = False
    token: str | None = None  # the stream token the line named (parse_line(named=True))


def _not_finite(constant: str) -> None:
    # NaN and Infinity are not JSON; Plotly's own encoder writes them as null.
    return None


def _finite_float(text: str) -> float | None:
    # 1e999 parses as infinity, which no database stores as JSON: null, like NaN.
    number = float(text)
    return number if math.isfinite(number) else None


def _storable(decoded: object) -> None:
    """Refuse what a database cannot store in JSON: NUL characters and lone surrogates.

    Both can only come from \\u escapes, so the caller checks only lines that hold one.
    """
    flat = json.dumps(decoded, ensure_ascii=False)
    if "\\u0000" in flat:
        raise LineRejected("a string holds a NUL character (\\u0000)")
    try:
        flat.encode("utf-8")
    except UnicodeEncodeError:
        raise LineRejected("a string holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)") from None


def _decode(raw: bytes) -> object:
    """The JSON value of a line. orjson reads the common line; whatever it refuses (NaN,
    Infinity, 1e999, lone surrogates, bad UTF-8, very deep nesting) is read again by the json
    module, whose rules and messages are the documented ones."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if b"\\u" in raw:
            _storable(message)
        return message
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineRejected(f"not valid UTF-8 (byte {exc.start})") from None
    try:
        message = json.loads(text, parse_constant=_not_finite, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise LineRejected(
                f"not JSON: a second value starts at column {exc.colno}: end each object with a newline "
                "(curl -d strips newlines; send files with --data-binary)"
            ) from None
        raise LineRejected(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise LineRejected(_too_deep()) from None
    if "\\u" in text:
        _storable(message)
    return message


def parse_line(raw: bytes, named: bool = False) -> Update | None:
    """Turn one line into an Update; None for a heartbeat (a blank line).

    `named`: the line names its stream token in a TOKEN_KEY key, taken out of the line (never
    applied or stored) into `Update.token`; a line without one is parsed all the same (token None).
    A rejected line's LineRejected carries the token it named."""
    if not raw.strip():
        return None
    message = _decode(raw)
    if not isinstance(message, dict):
        raise LineRejected(f"expected a JSON object, got {_kind(message)}")
    token = message.pop(TOKEN_KEY, None) if named else None
    if token is not None:
        if not (isinstance(token, str) and token.strip()):
            got = "an empty string" if isinstance(token, str) else _kind(token)
            raise LineRejected(f"{TOKEN_KEY}: expected the stream token, a non-empty string, got {got}")
        token = token.strip()
    update = Update(size=len(raw), token=token)
    try:
        _fill(update, message)
    except LineRejected as exc:
        exc.token = token  # the token's own rejection
        raise
    return update


def _fill(update: Update, message: dict[str, Any]) -> None:
    """Put a line's attributes into its update."""
    points_only = True
    for key, value in message.items():
        kind = type(value)
        if (kind is int or kind is float or kind is str) and key in APPENDABLE:
            # The common line ({"x": 1, "y": 2.5}) in one step: a number here is always
            # finite (NaN, Infinity and 1e999 were read as null) and needs no further check.
            if kind is str and key in DATED:
                try:
                    value = in_declared_zone(value)  # a date with an offset: the same instant in UTC
                except NotAnInstant as exc:
                    raise LineRejected(f"{key}: {exc}") from None
            update.trace[key] = value
            continue
        if key in IGNORED_KEYS:
            continue
        if key == "layout":
            if not isinstance(value, dict):
                raise LineRejected(f"layout must be an object, got {_kind(value)}")
            if 1 + _depth(value) > MAX_DEPTH:  # the line's own object is one level
                raise LineRejected(_too_deep())
            # The forms and names a REST figure may use, and no others (a typo gets a did-you-mean).
            value = upgrade_layout(value)
            if problems := check_layout(value):
                raise LineRejected(f"{problems[0].path}: {problems[0].message}")
            update.layout = normalize_layout(value)
            continue
        if key == RUN_KEY:
            update.run = parse_run(value)
            points_only = False  # a new run empties the windows first
            continue
        if key == ANNOTATION_KEY:
            try:
                update.annotation = check_stream_form(value)
            except AnnotationInvalid as exc:
                field = "" if exc.field == ANNOTATION_KEY else f".{exc.field}"
                raise LineRejected(f"{ANNOTATION_KEY}{field}: {exc}") from None
            continue
        points_only = False
        for path, leaf in flatten(value, key, max_keys=MAX_PATH_KEYS):
            checked = _checked(path, leaf)
            update.trace[path] = _instant(path, checked) if path in DATED else checked
    update.points_only = points_only and bool(update.trace)


def _instant(path: str, value: object) -> object:
    """A coordinate with its dates that carry an offset in the declared zone (core/instants.py)."""
    try:
        return coordinate_in_declared_zone(value)
    except NotAnInstant as exc:
        raise LineRejected(f"{path}: {exc}") from None


def parse_run(value: object) -> str:
    """The name of the run a `run` value starts: `"new"` (unnamed) or `{"name": "..."}`; the
    same rule for the line convention and POST /api/streams/<id>/runs/."""
    if value == "new":
        return ""
    if isinstance(value, dict) and set(value) <= {"name"}:
        name = value.get("name", "")
        if isinstance(name, str) and len(name) <= MAX_RUN_NAME:
            return name
        raise LineRejected(f"run: the name is a string of at most {MAX_RUN_NAME} characters")
    raise LineRejected('run: expected "new" or {"name": "..."}')


def _too_deep() -> str:
    return f"objects and arrays nested more than {MAX_DEPTH} deep"


def _depth(value: object) -> int:
    """How many levels of objects and arrays `value` nests (0 for a scalar), without recursion.

    Stops counting past MAX_DEPTH."""
    depth, level = 0, [value]
    while containers := [v for v in level if isinstance(v, (dict, list))]:
        depth += 1
        if depth > MAX_DEPTH:
            break
        level = [inner for c in containers for inner in (c.values() if isinstance(c, dict) else c)]
    return depth


# No streamable attribute path is longer than this many keys (`marker.line.color`).
MAX_PATH_KEYS = 3


def flatten(value: object, prefix: str = "", max_keys: int | None = None) -> list[tuple[str, object]]:
    """A change as (dotted path, value) pairs, the form Plotly.restyle and Plotly.relayout take:
    the one flattening rule, for trace attributes, layouts and anything shown by path.

    Nested objects merge key by key (docs/streaming.md): each key of an object is a path of its
    own, so an empty object changes nothing and yields no pair. Arrays, values and null are
    leaves: they replace (null resets). `max_keys` refuses paths of more keys than that (a key
    written with dots counts as one).
    """
    return list(_pairs(value, prefix, 1 if prefix else 0, max_keys))


def _pairs(value: object, path: str, keys: int, max_keys: int | None) -> Iterator[tuple[str, object]]:
    if not isinstance(value, dict):
        yield path, value
        return
    if max_keys is not None and keys >= max_keys:
        raise LineRejected(f"{path}: no streamable attribute is nested this deep")
    for key, inner in value.items():
        yield from _pairs(inner, f"{path}.{key}" if path else key, keys + 1, max_keys)


def _checked(path: str, value: object) -> object:
    if path in APPENDABLE:
        if isinstance(value, list):
            if len(value) > MAX_ARRAY_LENGTH:
                raise LineRejected(f"{path}: array of {len(value)} values, the limit is {MAX_ARRAY_LENGTH}")
            if not all(_is_point_value(item) or _is_point_array(item) for item in value):
                raise LineRejected(f"{path}: array values must be numbers, strings, null or arrays of those")
            return value
        if not _is_point_value(value):
            raise LineRejected(f"{path}: expected a number, string, null or array, got {_kind(value)}")
        return value
    if path in SETTABLE:
        if path == "marker.colorscale" and isinstance(value, list):
            if not all(_is_point_array(stop) for stop in value):
                raise LineRejected(f"{path}: expected a name or an array of [position, colour] pairs")
            return value
        if isinstance(value, (dict, list)):
            raise LineRejected(f"{path}: expected a single value, got {_kind(value)}")
        if problem := check_setting(path, value):
            raise LineRejected(f"{path}: {problem}")
        return value
    raise LineRejected(f"{path}: this attribute cannot be streamed{suggestion(path, _siblings(path), cutoff=0.75)}")


def _siblings(path: str) -> set[str]:
    """The streamable attributes beside `path` (`marker.color` for `marker.colour`): what a typo meant."""
    parent = path.rpartition(".")[0]
    return {name for name in APPENDABLE | SETTABLE if name.rpartition(".")[0] == parent}


def _is_point_value(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (int, str))


def _is_point_array(value: object) -> bool:
    return isinstance(value, list) and all(_is_point_value(item) for item in value)


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), "a number")


def normalize_layout(layout: dict[str, Any]) -> dict[str, object]:
    """Flatten a layout change (its older forms upgraded already: figure_schema.upgrade_layout)
    to dotted paths, the form Plotly.relayout takes."""
    return dict(flatten(layout))
