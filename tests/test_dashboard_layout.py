"""A dashboard's grid (dashboards/layout.py): what a panel may say, and where one without a place goes."""

from __future__ import annotations

import pytest

from dashboards.layout import COLUMNS, MAX_PANELS, PanelError, PanelSpec, parse_panels


def test_a_panel_without_a_place_goes_to_the_first_free_one_row_by_row():
    panels = parse_panels([{"plot": 1}, {"plot": 2}, {"plot": 3, "w": 12, "h": 2}, {"plot": 4}])
    assert panels == [
        PanelSpec(1, 0, 0, 6, 4),
        PanelSpec(2, 6, 0, 6, 4),
        PanelSpec(3, 0, 4, 12, 2),
        PanelSpec(4, 0, 6, 6, 4),
    ]


def test_placed_panels_keep_their_place_and_the_others_fill_around_them():
    panels = parse_panels([{"plot": 1}, {"plot": 2, "x": 0, "y": 0, "w": 4, "h": 4, "title": "pressure"}])
    assert panels[1] == PanelSpec(2, 0, 0, 4, 4, "pressure")
    assert panels[0] == PanelSpec(1, 4, 0, 6, 4)


@pytest.mark.parametrize(
    ("panels", "says"),
    [
        ({"plot": 1}, "panels is a list"),
        ([{"plot": "7"}], "panel 1: plot is the id of a plot"),
        ([{"plot": 1}, {"plot": 2, "x": 8, "y": 0, "w": 6}], "panel 2: x + w is at most 12"),
        ([{"plot": 1, "x": 0}], "panel 1: give both x and y"),
        ([{"plot": 1, "w": 0}], "panel 1: w is a whole number from 1 to 12"),
        ([{"plot": 1, "h": True}], "panel 1: h is a whole number"),
        ([{"plot": 1, "colour": "red"}], "panel 1: unknown field 'colour'"),
        ([{"plot": 1}] * (MAX_PANELS + 1), f"at most {MAX_PANELS} panels"),
    ],
)
def test_a_bad_panel_is_refused_by_name(panels, says):
    with pytest.raises(PanelError) as refused:
        parse_panels(panels)
    assert says in str(refused.value)


def test_the_grid_has_twelve_columns():
    assert COLUMNS == 12
    assert parse_panels([{"plot": 1, "x": 11, "y": 0, "w": 1}])[0].x == 11
