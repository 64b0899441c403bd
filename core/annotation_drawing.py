"""How annotations are shown: the one JSON form viewers get, which of them a viewer may see, and
how they are drawn into a figure (web/static/plots/annotations.js draws the page's the same way).
Pure rules, no database: the plot's figure and the annotation model both use them."""

from __future__ import annotations

import copy
import html
from typing import Any, TypedDict

from core.annotation_fields import DRAWN_NAME, without_drawn
from core.figure_schema import token_paths

DEFAULT_COLOR = "#e45756"


class AnnotationData(TypedDict):
    """An annotation as the API, the viewer socket and the figure give it."""

    id: int
    x: float | int | str
    x_end: float | int | str | None
    text: str
    trace: int | None
    color: str
    stream: int | None
    created: str
    updated: str


def shown(annotations: list[AnnotationData], tokens: set[str]) -> list[AnnotationData]:
    """Those a viewer may be shown: none holding one of `tokens`, the owner's token strings
    (refused when saved; this covers what a token named later matches)."""
    return [item for item in annotations if not token_paths(item, tokens, "")]


def drawn_in(figure: dict[str, Any], annotations: list[AnnotationData]) -> dict[str, Any]:
    """The figure with the annotations drawn after the owner's own shapes and annotations
    (the stored layout is not changed): an event a dotted line across the plot, a span a
    shaded band, each with its text at the top. web/static/plots/annotations.js draws the
    page's the same way."""
    stored = figure.get("layout") or {}
    if not annotations and without_drawn(stored) is stored:
        return figure
    layout = copy.copy(without_drawn(stored))
    shapes = list(layout.get("shapes") or [])
    notes = list(layout.get("annotations") or [])
    data = figure.get("data") or []
    for item in annotations:
        trace = item["trace"]
        axis = "x"
        if trace is not None and trace < len(data) and isinstance(data[trace].get("xaxis"), str):
            axis = data[trace]["xaxis"]
        color = item["color"] or DEFAULT_COLOR
        name = f"{DRAWN_NAME}{item['id']}"
        span = item["x_end"] is not None
        shape: dict[str, Any] = {
            "type": "rect" if span else "line",
            "name": name,
            "xref": axis,
            "yref": "paper",
            "x0": item["x"],
            "x1": item["x_end"] if span else item["x"],
            "y0": 0,
            "y1": 1,
        }
        if span:
            shape.update(fillcolor=color, opacity=0.15, line={"width": 0}, layer="below")
        else:
            shape["line"] = {"color": color, "width": 1.5, "dash": "dot"}
        shapes.append(shape)
        notes.append(
            {
                "name": name,
                "xref": axis,
                "yref": "paper",
                "x": item["x"],
                "y": 1,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                # Plotly reads a few HTML tags in a text: an annotation's is shown as written.
                "text": html.escape(item["text"], quote=False),
                "font": {"color": color},
            }
        )
    layout["shapes"] = shapes
    layout["annotations"] = notes
    return {**figure, "layout": layout}
