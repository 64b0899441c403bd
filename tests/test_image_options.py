"""What an image request may ask for (images/options.py): formats, sizes, scale, and the bounds on
the figure's points and bytes; each refusal says what is accepted."""

from __future__ import annotations

import pytest

from images.options import (
    ImageRefused,
    check_figure_bounds,
    figure_points,
    image_options,
    plotly_figure,
)


def refusal(call, *args) -> ImageRefused:
    with pytest.raises(ImageRefused) as caught:
        call(*args)
    return caught.value


def test_it_takes_the_four_formats_in_any_case_and_jpg_for_jpeg():
    assert [image_options(f, None, None, None, {}).format for f in ("png", "JPEG", "svg", "pdf", "jpg")] == [
        "png",
        "jpeg",
        "svg",
        "pdf",
        "jpeg",
    ]
    assert image_options("svg", None, None, None, {}).content_type == "image/svg+xml"


def test_an_unknown_format_is_a_400_naming_those_accepted():
    error = refusal(image_options, "emf", None, None, None, {})
    assert error.status_code == 400
    assert "png, jpeg, svg, pdf" in str(error.detail) and "'emf'" in str(error.detail)


def test_the_size_is_the_one_asked_else_the_layouts_else_700_by_500():
    assert image_options("png", 300, "200", "2", {}).__dict__ == {
        "format": "png",
        "width": 300,
        "height": 200,
        "scale": 2.0,
    }
    assert (image_options("png", None, None, None, {"width": 640, "height": 480}).width, 480) == (640, 480)
    chosen = image_options("png", None, None, None, {"width": "wide"})
    assert (chosen.width, chosen.height, chosen.scale) == (700, 500, 1.0)


@pytest.mark.parametrize(
    ("width", "height", "scale", "says"),
    [
        (5001, None, None, "width is a number from 10 to 5000"),
        ("abc", None, None, "width is a number from 10 to 5000"),
        (10.5, None, None, "whole number of pixels"),
        (None, 5, None, "height is a number from 10 to 5000"),
        (None, None, 0, "scale is a number from 0.1 to 10"),
        (None, None, True, "scale is a number from 0.1 to 10"),
    ],
)
def test_a_size_or_scale_out_of_range_is_a_400_that_says_the_range(width, height, scale, says):
    error = refusal(image_options, "png", width, height, scale, {})
    assert error.status_code == 400 and says in str(error.detail)


def test_an_image_past_the_pixel_bound_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    assert image_options("png", 1000, 1000, 1, {}).width == 1000
    error = refusal(image_options, "png", 1000, 1000, 2, {})
    assert error.status_code == 400 and "IMAGE_MAX_PIXELS" in str(error.detail)


def test_a_figure_is_data_and_layout_or_a_bare_list_of_traces():
    assert plotly_figure([{"y": [1]}]) == {"data": [{"y": [1]}], "layout": {}}
    assert plotly_figure({"layout": {"title": "t"}}) == {"data": [], "layout": {"title": "t"}}
    for wrong in ("x", {"data": 5}, {"data": [1]}, {"layout": []}):
        assert refusal(plotly_figure, wrong).status_code == 400


def test_points_are_each_traces_largest_array_summed():
    figure = {
        "data": [
            {"x": list(range(10)), "y": list(range(10)), "marker": {"color": list(range(10))}},
            {"type": "heatmap", "z": [[1, 2, 3], [4, 5, 6]]},
            {"type": "parcoords", "dimensions": [{"values": [1, 2]}, {"values": [3, 4]}]},
            {"type": "table", "cells": {"values": [[1, 2], [3, 4], [5, 6]]}},
        ]
    }
    assert figure_points(figure) == 10 + 6 + 4 + 6


def test_a_figure_past_its_points_or_bytes_is_a_413_naming_the_setting(settings):
    settings.IMAGE_MAX_POINTS = 100
    settings.IMAGE_MAX_FIGURE_BYTES = 5000
    check_figure_bounds({"data": [{"y": list(range(100))}]}, 4000)
    too_many = refusal(check_figure_bounds, {"data": [{"y": list(range(101))}]}, 4000)
    assert too_many.status_code == 413 and "IMAGE_MAX_POINTS" in str(too_many.detail)
    too_big = refusal(check_figure_bounds, {"data": []}, 5001)
    assert too_big.status_code == 413 and "IMAGE_MAX_FIGURE_BYTES" in str(too_big.detail)
