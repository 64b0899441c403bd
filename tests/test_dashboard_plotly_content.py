"""Plotly's dashboard content (chart_studio's dashboard_objs) turned into panels, in process."""

from __future__ import annotations

import pytest

from dashboards.layout import PanelError, PanelSpec
from dashboards.plotly_content import panels_of


def box(n: int, title: str = "") -> dict:
    return {"type": "box", "boxType": "plot", "fileId": f"someone:{n}", "shareKey": None, "title": title}


EMPTY = {"type": "box", "boxType": "empty"}


def split(first: dict, second: dict, direction: str, size: float = 50, unit: str = "%") -> dict:
    return {"type": "split", "direction": direction, "size": size, "sizeUnit": unit, "first": first, "second": second}


def test_boxes_side_by_side_share_the_width_and_stacked_ones_the_height():
    # What chart_studio makes: the first box at the top (500 px tall), then inserts beside and below.
    layout = split(split(split(box(1, "a"), box(2), "horizontal"), box(3), "vertical"), EMPTY, "vertical", 480, "px")
    assert panels_of({"layout": layout, "settings": {}, "version": 2}) == [
        PanelSpec(1, 0, 0, 6, 3, "a"),
        PanelSpec(2, 6, 0, 6, 3),
        PanelSpec(3, 0, 3, 12, 3),
    ]


def test_a_share_in_percent_is_kept_on_the_grid():
    layout = split(box(1), box(2), "horizontal", size=25)
    assert [(p.x, p.w) for p in panels_of({"layout": layout})] == [(0, 3), (3, 9)]


def test_an_empty_dashboard_has_no_panels():
    assert panels_of({"layout": None, "settings": {}, "version": 2}) == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ([], "content is a dashboard"),
        ({"layout": {"type": "grid"}}, "of type 'grid'"),
        (
            {"layout": {"type": "box", "boxType": "plot", "fileId": "https://plot.ly/~a/1"}},
            "box 1: fileId is a plot's fid",
        ),
        ({"layout": split(box(1), "nothing", "vertical")}, "a split or a box"),
    ],
)
def test_content_that_is_not_a_dashboard_says_what_is_wrong(content, says):
    with pytest.raises(PanelError) as refused:
        panels_of(content)
    assert says in str(refused.value)
