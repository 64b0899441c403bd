"""Figures checked against Plotly's own schema, and stream tokens kept out of what viewers see.

The schema is the one the `plotly` package carries (plotly.graph_objects): every trace type,
every attribute name, nested objects and arrays of objects. Names are checked, and so are the
string values of attributes that take a fixed set (`mode`, `xaxis.type`); other values are
left to plotly.js, which ignores what it cannot use. Suggestions come from the valid names
(or values) at the same place ("did you mean `scatter`?").

Plotly's older figure forms, which the schema still takes but plotly.js (since v3) no longer
draws, are upgraded on the way in by `upgrade_layout` and `upgrade_trace`: a title given as a
string (`"title": "T"`, on the plot, an axis, a colorbar, a legend) becomes `{"text": "T"}`, and
`titlefont`, `titleside`, `titleposition`, `titleoffset` become `title.font` and so on. Every
door runs them first: the REST API, Plotly's own routes, the pages and stream lines.

Stream tokens are credentials. A trace binds one under `stream.token`, which plotserver
takes out of the spec and keeps beside it; a token string put anywhere else (a typo such
as `strem`, a `token` attribute, a trace name) would be stored as data and shown to every
viewer, so `token_paths` finds those places and `without_tokens` takes them out.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TypeVar, cast

import orjson
import plotly.graph_objects as go
from _plotly_utils.basevalidators import (
    CompoundArrayValidator,
    CompoundValidator,
    EnumeratedValidator,
    FlaglistValidator,
    TitleValidator,
)
from django.conf import settings

from base.fastjson import FastJSONEncoder
from core.annotation_fields import without_drawn

T = TypeVar("T")

DEFAULT_TRACE_TYPE = "scatter"
FIGURE_KEYS = ("data", "layout")
# Subtrees whose shape is anything plotly.js accepts there (a template holds whole figures).
OPAQUE = {"template", "meta", "customdata", "transforms"}
# What plotserver reads from a trace's `stream` (plotly.js no longer knows the attribute).
STREAM_KEYS = ("token", "maxpoints")


@dataclass(frozen=True)
class FigureProblem:
    """One name the schema does not know: where it is, and what to say about it."""

    path: str
    message: str


def join(where: str, key: str) -> str:
    """The path of `key` under `where` ("" is the top)."""
    return f"{where}.{key}" if where else key


# British spellings, tried before the closest match: Plotly's names are American.
AMERICAN = {"colour": "color", "centre": "center", "grey": "gray"}


def closest(name: str, valid: Collection[str], cutoff: float = 0.6) -> str | None:
    """The valid name `name` most likely meant, if one is close enough (difflib's ratio)."""
    american = name
    for british, us in AMERICAN.items():
        american = american.replace(british, us)
    if american != name and american in valid:
        return american
    close = difflib.get_close_matches(american, sorted(valid), n=1, cutoff=cutoff)
    return close[0] if close else None


def suggestion(name: str, valid: Collection[str], cutoff: float = 0.6) -> str:
    meant = closest(name, valid, cutoff)
    return f"; did you mean `{meant}`?" if meant is not None else ""


@cache
def trace_classes() -> dict[str, str]:
    """Plotly's trace types and the graph_objects class of each."""
    return dict(go.Figure()._data_validator.class_strs_map)


def _node_for_trace(trace_type: str):
    return getattr(go, trace_classes()[trace_type])()


def check_trace(spec: dict, where: str) -> list[FigureProblem]:
    """The unknown names in one trace (its `stream` already taken out)."""
    trace_type = spec.get("type", DEFAULT_TRACE_TYPE)
    if not isinstance(trace_type, str) or trace_type not in trace_classes():
        hint = suggestion(trace_type, trace_classes()) if isinstance(trace_type, str) else ""
        return [FigureProblem(join(where, "type"), f"unknown trace type {trace_type!r}{hint}")]
    problems = []
    rest = {}
    for key, value in spec.items():
        meant = difflib.get_close_matches(key, STREAM_KEYS, n=1, cutoff=0.8)
        if meant:
            message = f"a {trace_type} trace has no attribute `{key}`; did you mean `stream.{meant[0]}`?"
            problems.append(FigureProblem(join(where, key), message))
        elif key != "type":
            rest[key] = value
    node = _node_for_trace(trace_type)
    return problems + list(_check_object(rest, node, where, f"a {trace_type} trace", extra={"stream"}))


def check_stream(stream: dict, where: str) -> list[FigureProblem]:
    """The unknown names in a trace's `stream` object."""
    return [
        FigureProblem(join(where, key), f"`stream` has no attribute `{key}`{suggestion(key, STREAM_KEYS)}")
        for key in stream
        if key not in STREAM_KEYS
    ]


def check_layout(layout: dict, where: str = "layout") -> list[FigureProblem]:
    """The unknown names in a layout."""
    return list(_check_object(layout, go.Layout(), where, "the layout"))


def check_setting(path: str, value: object) -> str | None:
    """What is wrong with a stream line's whole-trace setting (`mode`, `line.dash`), if anything:
    the value checked as a scatter trace's, the trace most streams feed."""
    if not isinstance(value, str):
        return None
    validator = _setting_validator(path)
    return None if validator is None else _value_problem(validator, path.rpartition(".")[2], value)


@lru_cache(maxsize=256)  # a stream line's settings are few paths, asked on every line
def _setting_validator(path: str):
    """The validator of a scatter trace's attribute at `path` when it takes a fixed set of values;
    None otherwise (building a trace to find it costs tens of microseconds)."""
    node = go.Scatter()
    *parents, key = path.split(".")
    for parent in parents:
        validator = node._get_validator(parent) if parent in node._valid_props else None
        if not isinstance(validator, CompoundValidator):
            return None
        node = validator.data_class()
    if key not in node._valid_props:
        return None
    validator = node._get_validator(key)
    return validator if isinstance(validator, FlaglistValidator | EnumeratedValidator) else None


def _check_object(value: dict, node, where: str, what: str, extra: frozenset | set = frozenset()):
    for key, child in value.items():
        path = join(where, key)
        if key in OPAQUE and key in node._valid_props:
            continue
        if key not in node._valid_props and not _is_subplot_name(node, key):
            yield FigureProblem(path, f"{what} has no attribute `{key}`{suggestion(key, node._valid_props | extra)}")
            continue
        validator = node._get_validator(key)
        if isinstance(validator, CompoundValidator) and isinstance(child, dict):
            yield from _check_object(child, validator.data_class(), path, f"`{key}`")
        elif isinstance(validator, CompoundArrayValidator) and isinstance(child, list):
            for position, item in enumerate(child):
                if isinstance(item, dict):
                    yield from _check_object(item, validator.data_class(), f"{path}[{position}]", f"`{key}`")
        elif isinstance(child, str) and (problem := _value_problem(validator, key, child)):
            yield FigureProblem(path, problem)


def _value_problem(validator, key: str, value: str) -> str | None:
    """Why `value` is not one that `key` takes, for an attribute of a fixed set of values."""
    if not isinstance(validator, FlaglistValidator | EnumeratedValidator):
        return None
    try:
        validator.validate_coerce(value)
        return None
    except ValueError:
        pass
    if isinstance(validator, FlaglistValidator):
        flags, extras = list(validator.flags), list(validator.extras or ())
        meant = [closest(part, flags + extras) or part for part in value.split("+")]
        hint = f"; did you mean `{'+'.join(meant)}`?" if meant != value.split("+") else ""
        takes = "".join(f" or `{extra}`" for extra in extras)
        joined = ", ".join(f"`{flag}`" for flag in flags)
        return f"`{key}` is {joined} joined with `+`{takes}, not `{value}`{hint}"
    # Plain strings, JSON values (true, false, numbers) and patterns (`/^x([2-9]|...)$/`).
    shown = [v if isinstance(v, str) else orjson.dumps(v).decode() for v in validator.values]
    listed = ", ".join(f"`{v}`" for v in shown[:12]) + (", ..." if len(shown) > 12 else "")
    if value in shown and value not in validator.values:
        return f"`{key}` is one of {listed}, not the string `{value}`; send `{value}` without quotes"
    names = [v for v in validator.values if isinstance(v, str) and not v.startswith("/")]
    return f"`{key}` is one of {listed}, not `{value}`{suggestion(value, names)}"


# -- older forms upgraded ------------------------------------------------------------------


def upgrade_layout(layout: dict) -> dict:
    """`layout` with Plotly's older forms in the ones plotly.js draws (see the module's doc).
    Names the schema does not know are kept as they are, for the check to name them. Every way
    a layout is saved comes here: the shapes and annotations drawn for plotserver's annotations
    (a figure a viewer read, saved back) are left out (core/annotation_fields.py without_drawn)."""
    return _upgrade(without_drawn(layout), go.Layout())


def upgrade_trace(spec: dict) -> dict:
    """One trace (a `stream` key and all) with Plotly's older forms upgraded, as `upgrade_layout`."""
    trace_type = spec.get("type", DEFAULT_TRACE_TYPE)
    if not isinstance(trace_type, str) or trace_type not in trace_classes():
        return spec
    return _upgrade(spec, _node_for_trace(trace_type))


def _upgrade(value: dict, node) -> dict:
    upgraded: dict = {}
    title_parts: dict = {}  # titlefont -> {"font": ...}: for `title`
    for key, child in value.items():
        if key in OPAQUE or (key not in node._valid_props and not _is_subplot_name(node, key)):
            if (part := _title_part(node, key)) is not None:
                title_parts[part] = child
            else:
                upgraded[key] = child
            continue
        validator = node._get_validator(key)
        if (
            isinstance(validator, TitleValidator)
            and isinstance(child, str | int | float)
            and not isinstance(child, bool)
        ):
            upgraded[key] = {"text": child}
        elif isinstance(validator, CompoundValidator) and isinstance(child, dict):
            upgraded[key] = _upgrade(child, validator.data_class())
        elif isinstance(validator, CompoundArrayValidator) and isinstance(child, list):
            upgraded[key] = [
                _upgrade(item, validator.data_class()) if isinstance(item, dict) else item for item in child
            ]
        else:
            upgraded[key] = child
    if title_parts:
        title = upgraded.get("title", {})
        if isinstance(title, dict):
            upgraded["title"] = {**title_parts, **title}  # what the title itself says wins
        else:  # a title that is neither text nor an object: left for the check to name
            upgraded.update({f"title{part}": child for part, child in title_parts.items()})
    return upgraded


# Plotly's older flat names for a title's parts (titlefont, titleside, ...); another `title...`
# name (`titlex`) is a typo for the check to name, not a part.
OLDER_TITLE_PARTS = frozenset({"font", "side", "position", "offset"})


def _title_part(node, key: str) -> str | None:
    """`font` for `titlefont` where `title.font` exists."""
    part = key.removeprefix("title")
    if part == key or part not in OLDER_TITLE_PARTS or "title" not in node._valid_props:
        return None
    return part if part in node._get_validator("title").data_class()._valid_props else None


def _is_subplot_name(node, key: str) -> bool:
    # xaxis2, yaxis3, scene2...: numbered copies of a subplot attribute.
    pattern = getattr(node, "_subplotid_prop_re", None)
    match = pattern.match(key) if pattern is not None else None
    return match is not None and int(match[2]) >= 1


def json_bytes(value: object) -> int:
    """The size of a layout or a trace as stored: its JSON, in bytes."""
    try:
        return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except orjson.JSONEncodeError:  # what orjson cannot write (an integer past 64 bits)
        return len(FastJSONEncoder().encode(value).encode())


def trace_bytes_limit(trace_count: int) -> int:
    """What one trace of a plot of `trace_count` traces may hold: an even share of
    PLOT_DATA_MAX_BYTES, so that a plot's traces together do not grow past it. The one bound on
    a trace's data: an edit past it is refused (400), a stream line that would grow a window past
    it is rejected alone (streaming/window_weight.py). A trace that holds more than a new, smaller
    share (another trace was added) keeps what it holds and grows no further."""
    return settings.PLOT_DATA_MAX_BYTES // max(trace_count, 1)


def trace_size_problem(size: int, trace_count: int, where: str) -> FigureProblem | None:
    """The problem with a trace of `size` bytes in a plot of `trace_count` traces, if any."""
    limit = trace_bytes_limit(trace_count)
    if size <= limit:
        return None
    share = f"PLOT_DATA_MAX_BYTES ({settings.PLOT_DATA_MAX_BYTES}) / {trace_count} traces"
    return FigureProblem(where, f"the trace would be {size} bytes, more than its share of the plot's data: {share}")


def check_trace_sizes(specs: list[dict], trace_count: int, where: str = "data") -> list[FigureProblem]:
    """The traces among `specs` (the plot will have `trace_count`) larger than their share."""
    problems = (trace_size_problem(json_bytes(spec), trace_count, f"{where}[{i}]") for i, spec in enumerate(specs))
    return [problem for problem in problems if problem is not None]


def check_layout_size(layout: dict, where: str = "layout") -> list[FigureProblem]:
    """A layout larger than PLOT_LAYOUT_MAX_BYTES, the one bound on a plot's layout: an edit
    that would store it is refused (400), and so is a stream line that would grow it past it."""
    size, limit = json_bytes(layout), settings.PLOT_LAYOUT_MAX_BYTES
    if size <= limit:
        return []
    return [FigureProblem(where, f"the layout would be {size} bytes, more than PLOT_LAYOUT_MAX_BYTES ({limit})")]


def check_figure_keys(figure: dict) -> list[FigureProblem]:
    """Names at the top of a figure other than `data` and `layout`."""
    return [
        FigureProblem(key, f"a figure has `data` and `layout`, not `{key}`{suggestion(key, FIGURE_KEYS)}")
        for key in figure
        if key not in FIGURE_KEYS
    ]


# -- stream tokens out of sight ------------------------------------------------------------


def token_paths(value: object, tokens: set[str], where: str) -> list[str]:
    """Every place under `value` that holds one of `tokens` (as a whole string)."""
    found: list[str] = []
    if not tokens:
        return found
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if node in tokens:
                found.append(path)
        elif isinstance(node, dict):
            stack.extend((child, join(path, key)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend(
                (child, f"{path}[{i}]") for i, child in enumerate(node) if isinstance(child, dict | list | str)
            )
    return sorted(found)


def without_tokens(value: T, tokens: set[str]) -> T:
    """`value` with every one of `tokens` taken out: keys holding one go, list items become null.

    Returns `value` itself (not a copy) when it holds none, which is the common case.
    """
    if not tokens or not _holds(value, tokens):
        return value
    return cast(T, _scrub(value, tokens))  # the same shape: a dict stays a dict, a list a list


def _holds(node: object, tokens: set[str]) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item in tokens:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(child for child in item if isinstance(child, dict | list | str))
    return False


def _scrub(node: object, tokens: set[str]) -> object:
    if isinstance(node, dict):
        return {
            key: _scrub(child, tokens)
            for key, child in node.items()
            if not (isinstance(child, str) and child in tokens)
        }
    if isinstance(node, list):
        return [None if isinstance(item, str) and item in tokens else _scrub(item, tokens) for item in node]
    return node
