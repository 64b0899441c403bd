"""Points as columns, the shape every history reader and the folding job hand around: each
attribute path to its values, a list or a packed column of a block (history/blocks.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from history.blocks import Packed, pack

Column = list | Packed


@dataclass
class Columns:
    """Points as columns: each attribute path to its values (a list, or a packed column of a
    block), all `count` long."""

    values: dict[str, Column]
    count: int = 0

    def add(self, extend: dict[str, list]) -> None:
        """Append one delta's points; attributes it lacks get null."""
        count, added = self.count, 0
        for path, values in extend.items():
            column = self.values.get(path)
            if column is None:
                column = self.values[path] = []
            assert isinstance(column, list)
            if len(column) < count:
                column.extend([None] * (count - len(column)))
            column.extend(values)
            if len(values) > added:
                added = len(values)
        self.count = count + added

    def padded(self) -> dict[str, Column]:
        for column in self.values.values():
            if isinstance(column, list) and len(column) < self.count:
                column.extend([None] * (self.count - len(column)))
        return self.values

    def as_lists(self) -> Columns:
        """The same points with every column a list (for writing them out)."""
        return Columns({path: as_list(column) for path, column in self.values.items()}, self.count)


def as_list(column: Column) -> list:
    return column.tolist() if isinstance(column, Packed) else column


def take(column: Column, indexes: np.ndarray) -> list:
    """The values at `indexes`."""
    if isinstance(column, Packed):
        return column.take(indexes)
    return [column[i] for i in indexes.tolist()]


def subset(column: Column, keep: np.ndarray) -> Column:
    """The column of the points at `keep` (a packed column stays packed)."""
    if isinstance(column, Packed):
        return column.subset(keep)
    return [column[i] for i in keep.tolist()]


def joined(pages: list[Columns], count: int) -> Columns:
    """The pages one after the other. A column packed the same way in every page (what the
    tail's rows pack to included) stays packed; otherwise it becomes a list."""
    paths = list(dict.fromkeys(path for page in pages for path in page.values))
    pages = [page for page in pages if page.count]
    whole = Columns({}, count)
    for path in paths:
        parts: list[Column | None] = [page.values.get(path) for page in pages]
        parts = [pack(part) or part if isinstance(part, list) and len(part) > 0 else part for part in parts]
        packed = [part for part in parts if isinstance(part, Packed) or part == []]
        if len(packed) == len(parts) and packed:
            joined = Packed.join([part for part in packed if isinstance(part, Packed)])
            if joined is not None:
                whole.values[path] = joined
                continue
        column: list = []
        for page, part in zip(pages, parts, strict=True):
            column.extend([None] * page.count if part is None else as_list(part))
        whole.values[path] = column
    return whole
