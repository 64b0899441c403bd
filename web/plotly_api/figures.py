"""How /clientresp changes a plot's figure. Pure functions.

Its `origin` says what `args` is. `plot`: traces, merged in by `fileopt`: `new` makes a figure
of the traces; `overwrite` replaces the figure's traces; `append` adds the traces after the
figure's; `extend` appends each new trace's arrays to the arrays of the trace in the same
position (its other attributes set), and adds the traces past the last. A layout sent replaces
the figure's; none sent keeps it. `style`: one style per trace, each setting its attributes on
the trace in the same position. `layout`: the figure's new layout.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

FILEOPTS = ("new", "overwrite", "extend", "append")
ORIGINS = ("plot", "style", "layout")


def changed_figure(current: dict | None, origin: str, args: list | dict, layout: dict | None, fileopt: str) -> dict:
    """The figure to save for a /clientresp call: `current` (None for a plot not made yet,
    only with origin plot) changed by `args` as `origin` says."""
    if origin == "plot":
        assert isinstance(args, list)
        return merge_figure(current, args, layout, fileopt)
    assert current is not None
    if origin == "layout":
        assert isinstance(args, dict)
        return {"data": current.get("data", []), "layout": args}
    assert isinstance(args, list)
    return {"data": restyle_traces(current.get("data", []), args), "layout": current.get("layout", {})}


def restyle_traces(existing: list, styles: list) -> list:
    """origin=style: each style's attributes set on the trace in the same position."""
    if len(styles) > len(existing):
        raise ValidationError(f"args holds {len(styles)} styles, and the plot has {len(existing)} traces.")
    merged = list(existing)
    for position, style in enumerate(styles):
        if not isinstance(style, dict):
            raise ValidationError({f"args[{position}]": "A style must be a JSON object."})
        merged[position] = {**merged[position], **style}
    return merged


def merge_figure(current: dict | None, traces: list, layout: dict | None, fileopt: str) -> dict:
    """The figure to save: `current` (None for a plot not made yet) with `traces` and `layout`
    merged in by `fileopt`. The arguments are not changed."""
    if fileopt not in FILEOPTS:
        raise ValidationError(f"fileopt is one of {', '.join(FILEOPTS)}, not {fileopt!r}.")
    if current is None or fileopt == "new":
        return {"data": list(traces), "layout": {} if layout is None else layout}
    data = list(current.get("data", []))
    if fileopt == "overwrite":
        data = list(traces)
    elif fileopt == "append":
        data += traces
    else:
        data = extend_traces(data, traces)
    return {"data": data, "layout": current.get("layout", {}) if layout is None else layout}


def extend_traces(existing: list, additions: list) -> list:
    """fileopt=extend: each new trace's arrays appended to the same-numbered trace's."""
    merged = list(existing)
    for position, addition in enumerate(additions):
        if not isinstance(addition, dict):
            raise ValidationError({f"args[{position}]": "A trace must be a JSON object."})
        if position >= len(merged):
            merged.append(addition)
            continue
        trace = dict(merged[position])
        for key, value in addition.items():
            if isinstance(value, list) and isinstance(trace.get(key), list):
                trace[key] = trace[key] + value
            else:
                trace[key] = value
        merged[position] = trace
    return merged
