"""How an update changes a trace's rolling window and a plot's layout. Pure functions.

The browser applies the deltas these return with the same rules (static/plots/viewer.js), so
a viewer's figure and the stored one never drift apart.
"""

from __future__ import annotations

from typing import Any

from core.protocol import APPENDABLE, COORDINATES, PER_POINT_ATTRIBUTES, Update

_COORDINATES = frozenset(COORDINATES)


def get_path(container: dict[str, Any], path: str) -> object:
    if "." not in path:  # most paths: x, y, text
        return container.get(path) if isinstance(container, dict) else None
    for key in path.split("."):
        if not isinstance(container, dict) or key not in container:
            return None
        container = container[key]
    return container


def set_path(container: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    for key in parents:
        child = container.get(key)
        if not isinstance(child, dict):
            child = container[key] = {}
        container = child
    if value is None:
        # null resets an attribute to its default, as it does in Plotly.relayout / restyle.
        container.pop(last, None)
    else:
        container[last] = value


def trim(values: list[Any], maxpoints: int) -> list[Any]:
    """Keep the newest `maxpoints` values, in place."""
    excess = len(values) - maxpoints
    if excess > 0:
        del values[:excess]
    return values


def point_lists(spec: dict[str, Any]) -> frozenset[str]:
    """The per-point attributes the trace holds as lists (a writer keeps them for apply_update)."""
    return frozenset(path for path in PER_POINT_ATTRIBUTES if isinstance(get_path(spec, path), list))


def point_count(spec: dict[str, Any]) -> int:
    return max((len(v) for k in COORDINATES if isinstance(v := spec.get(k), list)), default=0)


def clear_window(spec: dict[str, Any]) -> list[str]:
    """Empty a trace's window in place: every per-point attribute it holds, its styles kept.
    Returns the paths it emptied.

    Coordinates and labels stay as empty arrays; a per-point style (`marker.color`, ...) goes
    back to its default."""
    paths = [path for path in PER_POINT_ATTRIBUTES if isinstance(get_path(spec, path), list)]
    clear_paths(spec, paths)
    return paths


def clear_paths(spec: dict[str, Any], paths: list[str]) -> None:
    """Empty these per-point attributes: the `clear` of a delta (viewer.js does the same)."""
    for path in paths:
        set_path(spec, path, [] if "." not in path else None)


def apply_update(
    spec: dict[str, Any], update: Update, maxpoints: int, lists: frozenset[str] | None = None
) -> dict[str, Any]:
    """Apply one update to a trace spec in place and return the delta a viewer needs.

    The delta is `{"clear": [paths], "extend": {path: [values]}, "set": {path: value}}`, applied
    in that order: clear empties the window's per-point attributes (a line that starts a new
    run: the run begins with the line's own points); extend appends and then keeps the newest
    `maxpoints`; set replaces. A scalar appended to an attribute that holds a single value (a
    trace-wide `marker.color`, say) first turns it into one value per point; appended to one
    the trace lacks (a first `text` after 20 points), it starts it with null for the points
    before, so that it sits on the point it came with. A line that adds a point and lacks a
    per-point attribute that holds a value for every point (a `text` the line leaves out) gives
    it null, so that the values that follow stay on their points (as history stores them).

    `lists`: the trace's per-point lists (`point_lists(spec)`), when the caller keeps them up to
    date; without them, apply_update finds them, which costs more than the common update.
    """
    if update.run is not None:
        return {"clear": clear_window(spec), **_apply_trace(spec, update, maxpoints, None)}
    return _apply_trace(spec, update, maxpoints, lists)


def _apply_trace(spec: dict[str, Any], update: Update, maxpoints: int, lists: frozenset[str] | None) -> dict[str, Any]:
    appended = _append_only(spec, update.trace, maxpoints, lists)
    if appended is not None:
        return appended
    extend: dict[str, list[Any]] = {}
    replace: dict[str, object] = {}
    # The lists scalars append to, and the points the trace had, looked up before anything changes.
    appends = {}
    points_before = point_count(spec)
    for path, value in update.trace.items():
        if path in APPENDABLE and not isinstance(value, list):
            appends[path] = get_path(spec, path)
    for path, value in update.trace.items():
        if path not in APPENDABLE:
            set_path(spec, path, value)
            replace[path] = value
        elif isinstance(value, list):
            values = trim(list(value), maxpoints)
            set_path(spec, path, values)
            replace[path] = list(values)  # a copy: later appends in the batch must not reach the delta
        else:
            current = appends[path]
            if isinstance(current, list):
                current.append(value)
                if len(current) > maxpoints:
                    trim(current, maxpoints)
                extend[path] = [value]
            else:
                # The earlier points keep the trace-wide value, or have none (null): the new
                # value sits on the point it came with, as history stores it.
                fill = [current] * points_before
                values = trim([*fill, value], maxpoints)
                set_path(spec, path, values)
                replace[path] = list(values)
    if "y" in appends and "x" not in update.trace and spec.get("x") == []:
        # A stream of y alone into a trace made with "x": []: plotly.js draws no point against
        # an empty x, and numbers the points when there is none.
        del spec["x"]
        replace["x"] = None
    if points_before and any(path in _COORDINATES for path in appends):
        _pad_left_out(spec, update.trace, points_before, maxpoints, extend)
    delta: dict[str, dict[str, Any]] = {}
    if extend:
        delta["extend"] = extend
    if replace:
        delta["set"] = replace
    return delta


def _pad_left_out(
    spec: dict[str, Any], trace: dict[str, Any], points_before: int, maxpoints: int, extend: dict[str, list[Any]]
) -> None:
    """A line added a point: each per-point attribute it left out that held a value for every
    point gets null for it, in place and in `extend`."""
    for path in PER_POINT_ATTRIBUTES:
        if path in trace:
            continue
        current = get_path(spec, path)
        if isinstance(current, list) and len(current) == points_before:
            current.append(None)
            trim(current, maxpoints)
            extend[path] = [None]


def _append_only(
    spec: dict[str, Any], trace: dict[str, Any], maxpoints: int, lists: frozenset[str] | None
) -> dict[str, Any] | None:
    """The common update ({"x": 1, "y": 2} onto lists x and y, and no other per-point list that
    might need a null) in one pass; None for any other, which apply_update handles in full.
    Checked before anything changes."""
    for path, value in trace.items():
        if type(value) is list or "." in path or path not in APPENDABLE or type(spec.get(path)) is not list:
            return None
    if not trace.keys() >= (point_lists(spec) if lists is None else lists):
        return None
    return append_points(spec, trace, maxpoints)


def append_points(spec: dict[str, Any], trace: dict[str, Any], maxpoints: int) -> dict[str, Any]:
    """The common update in one pass, once it is known to be one: each value of `trace` (one
    for each per-point list the window holds, none of them nested) appended to its list."""
    extend = {}
    for path, value in trace.items():
        current = spec[path]
        current.append(value)
        if len(current) > maxpoints:
            del current[: len(current) - maxpoints]
        extend[path] = [value]
    return {"extend": extend} if extend else {}


def apply_delta(spec: dict[str, Any], delta: dict[str, Any], maxpoints: int) -> None:
    """Apply a delta that apply_update returned, in place: the same change, replayed.

    How a stored window catches up from its checkpoint (streaming/snapshots.py), by the same
    rules as the browser's viewer.js."""
    if "clear" in delta:
        clear_paths(spec, delta["clear"])
    for path, values in delta.get("extend", {}).items():
        current = get_path(spec, path)
        if isinstance(current, list):
            current.extend(values)
            trim(current, maxpoints)
        else:
            set_path(spec, path, trim(list(values), maxpoints))
    for path, value in delta.get("set", {}).items():
        set_path(spec, path, list(value) if isinstance(value, list) else value)


def merge_layout(layout: dict[str, Any], changes: dict[str, object]) -> dict[str, Any]:
    """Apply a flattened layout change (see protocol.normalize_layout) in place."""
    for path, value in changes.items():
        set_path(layout, path, value)
    return layout
