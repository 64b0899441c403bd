"""Plotly's dashboard content (chart_studio's `dashboard_objs`) turned into panels.

Plotly's layout is a tree: a `split` divides its region between `first` and `second`, side by
side (`"direction": "horizontal"`, `size` the first's share of the width) or one above the other
(`"vertical"`, `size` the first's share of the height), in `%` or `px`; a `box` is `empty` or
shows a plot (`"boxType": "plot"`, `"fileId": "owner:<id>"`). Each plot box becomes a panel over
the same region of the 12-column grid (a row is 80 px high, a column a twelfth of 1200 px).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound

from core.plotly_files import parse_fid
from dashboards.layout import COLUMNS, MAX_HEIGHT, MAX_PANELS, MAX_ROWS, PanelError, PanelSpec

ROW_PX = 80
COLUMN_PX = 100  # 1200 px across
HEIGHT = 8  # rows of a tree whose heights are all in %
DEPTH = 32


def panels_of(content: Any) -> list[PanelSpec]:
    """The panels of Plotly's dashboard content; PanelError says what is wrong with it."""
    if not isinstance(content, dict):
        raise PanelError('content is a dashboard: {"layout": {...}, "settings": {...}, "version": 2}.')
    layout = content.get("layout")
    panels: list[PanelSpec] = []
    if layout is not None:
        _place(layout, 0, 0, COLUMNS, _height(layout, 0), panels, 0)
    if len(panels) > MAX_PANELS:
        raise PanelError(f"a dashboard has at most {MAX_PANELS} panels; this one has {len(panels)}.")
    return panels


def _height(node: Any, depth: int) -> int:
    """Rows a node needs: a px split its px; an empty box none; anything else HEIGHT."""
    if not isinstance(node, dict) or depth > DEPTH:
        return 0
    if node.get("type") == "box":
        return 0 if node.get("boxType") == "empty" else HEIGHT
    if node.get("direction") == "vertical" and node.get("sizeUnit") == "px":
        return _rows(node.get("size")) + _height(node.get("second"), depth + 1)
    return max(_height(node.get("first"), depth + 1), _height(node.get("second"), depth + 1), HEIGHT)


def _rows(size: Any) -> int:
    return max(1, round(size / ROW_PX)) if isinstance(size, (int, float)) and not isinstance(size, bool) else HEIGHT


def _share(node: dict, whole: int, unit_px: int) -> int:
    """How much of `whole` (columns or rows) a split gives its first part."""
    size = node.get("size", 50)
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        size = 50
    part = round(size / unit_px) if node.get("sizeUnit") == "px" else round(whole * size / 100)
    return min(max(part, 0), whole)


def _place(node: Any, x: int, y: int, w: int, h: int, panels: list[PanelSpec], depth: int) -> None:
    if depth > DEPTH:
        raise PanelError(f"the layout nests deeper than {DEPTH} splits.")
    if not isinstance(node, dict):
        raise PanelError("every part of the layout is a split or a box (an object).")
    if node.get("type") == "split":
        if node.get("direction") == "horizontal":
            first = _share(node, w, COLUMN_PX)
            _place(node.get("first"), x, y, first, h, panels, depth + 1)
            _place(node.get("second"), x + first, y, w - first, h, panels, depth + 1)
        else:
            first = _share(node, h, ROW_PX)
            second_h = h - first if node.get("sizeUnit") != "px" else _height(node.get("second"), depth + 1)
            _place(node.get("first"), x, y, w, first, panels, depth + 1)
            _place(node.get("second"), x, y + first, w, second_h, panels, depth + 1)
        return
    if node.get("type") != "box":
        raise PanelError(f"a part of the layout of type {node.get('type')!r}: only split and box are known.")
    if node.get("boxType") != "plot" or w < 1 or h < 1:
        return  # an empty (or text) box, or one squeezed to nothing, shows no plot
    file_id = node.get("fileId")
    try:
        owner, plot_id = parse_fid(file_id if isinstance(file_id, str) else "")
    except NotFound:
        raise PanelError(f"box {len(panels) + 1}: fileId is a plot's fid, 'owner:<id>'; it is {file_id!r}.") from None
    title = node.get("title")
    title = title if isinstance(title, str) else ""
    h = min(h, MAX_HEIGHT)
    y = min(y, MAX_ROWS - h)
    panels.append(PanelSpec(plot_id, x, y, min(w, COLUMNS - x), h, title[:200], plot_owner=owner))
