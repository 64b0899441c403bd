"""Grids: the arrays chart_studio uploads beside a plot, and the `xsrc`-style references to
them, resolved into inline data when the plot is saved."""

from __future__ import annotations

import re
import secrets

from rest_framework.exceptions import ValidationError

from core.models import Grid

SOURCE_REFERENCE = re.compile(r"^(?P<owner>[^:]+):(?P<grid>\d+):(?P<uid>[A-Za-z0-9_-]+)$")


def inline_sources(figure: dict, owner) -> dict:
    """Replace every `<attr>src: "owner:grid:uid"` in the figure by `<attr>: [the column's data]`.

    Only the owner's own grids are read. A reference that names no such column is an error:
    the plot would otherwise silently show nothing.
    """
    grids: dict[int, dict[str, list]] = {}

    def column(reference: str, where: str) -> list:
        match = SOURCE_REFERENCE.match(reference)
        if match is None or match["owner"] != owner.get_username():
            raise ValidationError({where: f"{reference!r} is not a column of one of your grids."})
        grid_id = int(match["grid"])
        if grid_id not in grids:
            grid = Grid.objects.filter(owner=owner, pk=grid_id).first()
            grids[grid_id] = {c["uid"]: c["data"] for c in grid.columns} if grid else {}
        data = grids[grid_id].get(match["uid"])
        if data is None:
            raise ValidationError({where: f"{reference!r} is not a column of one of your grids."})
        return list(data)

    def walk(node: object, where: str) -> object:
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if key.endswith("src") and len(key) > 3 and isinstance(value, str) and ":" in value:
                    node[key[:-3]] = column(value, f"{where}.{key}")
                    del node[key]
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for position, item in enumerate(node):
                walk(item, f"{where}[{position}]")
        return node

    walk(figure, "figure")
    return figure


def parse_columns(data: object) -> list[dict]:
    """A v2 grid body's `data.cols` as stored columns, each given a fresh uid."""
    cols = data.get("cols") if isinstance(data, dict) else None
    if not isinstance(cols, dict):
        raise ValidationError({"data": 'Expected {"cols": {"name": {"data": [...], "order": 0}, ...}}.'})
    columns, uids = [], set()
    for position, (name, col) in enumerate(cols.items()):
        if not isinstance(col, dict) or not isinstance(col.get("data"), list):
            raise ValidationError({f"data.cols.{name}": 'Expected {"data": [...], "order": n}.'})
        order = col.get("order", position)
        uid = secrets.token_hex(3)
        while uid in uids:
            uid = secrets.token_hex(3)
        uids.add(uid)
        columns.append(
            {"name": name, "uid": uid, "order": order if isinstance(order, int) else position, "data": col["data"]}
        )
    columns.sort(key=lambda c: c["order"])
    return columns
