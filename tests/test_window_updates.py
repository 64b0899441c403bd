"""apply_update and merge_layout: Plotly's streaming semantics on a stored trace."""

from core.protocol import parse_line
from core.window import apply_update, merge_layout


def apply(spec: dict, line: bytes, maxpoints: int = 500) -> dict:
    return apply_update(spec, parse_line(line), maxpoints)


def test_scalars_append_one_point():
    spec = {"x": [1], "y": [10]}
    delta = apply(spec, b'{"x": 2, "y": 20}')
    assert spec == {"x": [1, 2], "y": [10, 20]}
    assert delta == {"extend": {"x": [2], "y": [20]}}


def test_appending_keeps_the_newest_maxpoints():
    spec = {"x": [1, 2, 3], "y": [1, 2, 3]}
    apply(spec, b'{"x": 4, "y": 4}', maxpoints=3)
    assert spec == {"x": [2, 3, 4], "y": [2, 3, 4]}


def test_arrays_replace_and_are_trimmed_to_the_newest():
    spec = {"x": [1, 2], "y": [1, 2]}
    delta = apply(spec, b'{"x": [5, 6, 7, 8], "y": [1, 2, 3, 4]}', maxpoints=3)
    assert spec == {"x": [6, 7, 8], "y": [2, 3, 4]}
    assert delta == {"set": {"x": [6, 7, 8], "y": [2, 3, 4]}}


def test_the_first_scalar_starts_an_array():
    spec = {"type": "scatter"}
    apply(spec, b'{"x": 1, "y": 2}')
    assert spec == {"type": "scatter", "x": [1], "y": [2]}


def test_a_scalar_per_point_colour_turns_a_single_colour_into_one_per_point():
    spec = {"x": [1, 2], "y": [1, 2], "marker": {"color": "red", "size": 3}}
    delta = apply(spec, b'{"x": 3, "y": 3, "marker": {"color": "blue"}}')
    assert spec["marker"] == {"color": ["red", "red", "blue"], "size": 3}
    assert delta["set"] == {"marker.color": ["red", "red", "blue"]}
    apply(spec, b'{"x": 4, "y": 4, "marker": {"color": "green"}}')
    assert spec["marker"]["color"] == ["red", "red", "blue", "green"]


def test_a_style_value_sets_the_style():
    spec = {"x": [1], "line": {"width": 2}}
    delta = apply(spec, b'{"line": {"color": "blue"}}')
    assert spec == {"x": [1], "line": {"width": 2, "color": "blue"}}
    assert delta == {"set": {"line.color": "blue"}}


def test_a_null_style_resets_it():
    spec = {"line": {"color": "blue"}}
    apply(spec, b'{"line": {"color": null}}')
    assert spec == {"line": {}}


def test_a_null_point_is_a_gap():
    spec = {"y": [1]}
    apply(spec, b'{"y": null}')
    assert spec == {"y": [1, None]}


def test_a_heatmap_z_array_replaces_the_grid():
    spec = {"type": "heatmap", "z": [[0]]}
    apply(spec, b'{"z": [[1, 2, 3], [4, 5, 6]]}')
    assert spec["z"] == [[1, 2, 3], [4, 5, 6]]


def test_maxpoints_zero_keeps_nothing():
    spec = {"x": []}
    apply(spec, b'{"x": 1}', maxpoints=0)
    assert spec == {"x": []}


def test_layout_changes_merge_like_relayout():
    layout = {"title": {"text": "a", "font": {"size": 20}}, "xaxis": {"range": [0, 1], "type": "date"}}
    merge_layout(layout, parse_line(b'{"layout": {"title": "b", "xaxis": {"range": [2, 3]}}}').layout)
    assert layout == {"title": {"text": "b", "font": {"size": 20}}, "xaxis": {"range": [2, 3], "type": "date"}}


def test_an_empty_object_in_a_layout_change_leaves_the_axis_as_it_was():
    layout = {"xaxis": {"range": [0, 1], "title": {"text": "time"}}, "yaxis": {"type": "log"}}
    merge_layout(layout, parse_line(b'{"layout": {"xaxis": {}, "yaxis": {"title": {}}}}').layout)
    assert layout == {"xaxis": {"range": [0, 1], "title": {"text": "time"}}, "yaxis": {"type": "log"}}


def test_an_empty_object_in_a_trace_line_leaves_the_trace_as_it_was():
    spec = {"x": [1], "marker": {"color": "red"}}
    assert apply(spec, b'{"marker": {}}') == {}
    assert spec == {"x": [1], "marker": {"color": "red"}}


def test_a_null_in_a_layout_change_removes_the_setting():
    layout = {"xaxis": {"range": [0, 1]}}
    merge_layout(layout, {"xaxis.range": None})
    assert layout == {"xaxis": {}}


def test_a_delta_does_not_change_when_later_updates_append_to_the_window():
    spec = {}
    first = apply(spec, b'{"x": [1, 2]}')
    apply(spec, b'{"x": 3}')
    assert first == {"set": {"x": [1, 2]}}
    assert spec == {"x": [1, 2, 3]}
