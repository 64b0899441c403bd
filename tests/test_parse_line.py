"""parse_line: how one line of a stream becomes an update, or is rejected with a reason."""

import json
import re
from pathlib import Path

import pytest

from core.protocol import PER_POINT_ATTRIBUTES, LineRejected, flatten, parse_line


def test_a_blank_line_is_a_heartbeat():
    assert parse_line(b"") is None
    assert parse_line(b"  \r") is None


def test_scalars_and_arrays_become_trace_paths():
    update = parse_line(b'{"x": 1, "y": [1, 2], "text": "a"}')
    assert update.trace == {"x": 1, "y": [1, 2], "text": "a"}
    assert update.layout == {}


def test_nested_attributes_are_flattened_to_dotted_paths():
    update = parse_line(b'{"x": 1, "marker": {"color": "red", "size": 4, "line": {"width": 2}}}')
    assert update.trace == {"x": 1, "marker.color": "red", "marker.size": 4, "marker.line.width": 2}


def test_traces_and_layouts_flatten_by_one_rule():
    nested = {"marker": {"color": "red", "line": {"width": 2}, "size": {}}, "x": [1, {"a": 1}]}
    assert flatten(nested) == [("marker.color", "red"), ("marker.line.width", 2), ("x", [1, {"a": 1}])]
    layout = {"xaxis": {"color": "red", "title": {"standoff": 2}, "tickfont": {}}, "meta": [1, {"a": 1}]}
    assert flatten(layout) == [("xaxis.color", "red"), ("xaxis.title.standoff", 2), ("meta", [1, {"a": 1}])]
    assert parse_line(b'{"layout": %s}' % json.dumps(layout).encode()).layout == dict(flatten(layout))


def test_an_empty_object_changes_nothing():
    update = parse_line(b'{"marker": {}, "layout": {"xaxis": {}}}')
    assert (update.trace, update.layout) == ({}, {})


def test_type_is_ignored():
    assert parse_line(b'{"type": "scatter", "x": 1}').trace == {"x": 1}


def test_a_layout_key_becomes_a_flat_layout_change():
    update = parse_line(b'{"x": 1, "layout": {"xaxis": {"range": [0, 5]}, "title": "t2"}}')
    assert update.trace == {"x": 1}
    assert update.layout == {"xaxis.range": [0, 5], "title.text": "t2"}


def test_a_string_axis_title_becomes_its_text():
    assert parse_line(b'{"layout": {"yaxis": {"title": "volts"}}}').layout == {"yaxis.title.text": "volts"}


def test_nan_and_infinity_become_null():
    assert parse_line(b'{"x": NaN, "y": [Infinity, 1]}').trace == {"x": None, "y": [None, 1]}


def test_iso_dates_and_nulls_are_values():
    assert parse_line(b'{"x": "2024-01-02T03:04:05.600000", "y": null}').trace == {
        "x": "2024-01-02T03:04:05.600000",
        "y": None,
    }


def test_style_attributes_take_a_single_value():
    assert parse_line(b'{"line": {"color": "blue"}, "name": "n"}').trace == {"line.color": "blue", "name": "n"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got an array"),
        (b"42", "expected a JSON object, got a number"),
        (b'{"colour": 1}', "colour: this attribute cannot be streamed"),
        (b'{"marker": {"glow": 1}}', "marker.glow: this attribute cannot be streamed"),
        (b'{"x": true}', "x: expected a number, string, null or array, got a boolean"),
        (b'{"x": {"a": 1}}', "x.a: this attribute cannot be streamed"),
        (b'{"y": [{"a": 1}]}', "y: array values must be numbers, strings, null or arrays"),
        (b'{"y": [[[1]]]}', "y: array values must be numbers, strings, null or arrays of those"),
        (b'{"marker": {"line": {"color": {"a": 1}}}}', "marker.line.color: no streamable attribute is nested"),
        (b'{"marker": {"colorscale": [[0, [1]]]}}', "marker.colorscale: expected a name or an array of"),
        (b'{"line": {"color": [1]}}', "line.color: expected a single value, got an array"),
        (b'{"layout": 3}', "layout must be an object, got a number"),
        (b'{"x": "\xff"}', "not valid UTF-8"),
    ],
)
def test_a_bad_line_is_rejected_with_a_reason(raw, reason):
    with pytest.raises(LineRejected, match=reason.replace("[", r"\[")):
        parse_line(raw)


def test_an_array_over_ten_thousand_values_is_rejected():
    with pytest.raises(LineRejected, match="array of 10001 values, the limit is 10000"):
        parse_line(b'{"x": [%s]}' % b",".join([b"1"] * 10001))


def test_numbers_too_large_for_a_float_become_null_wherever_they_are():
    assert parse_line(b'{"opacity": 1e999, "x": [[1e999]], "y": -1e999}').trace == {
        "opacity": None,
        "x": [[None]],
        "y": None,
    }
    assert parse_line(b'{"layout": {"xaxis": {"range": [0, 1e999]}}}').layout == {"xaxis.range": [0, None]}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"x": "a\\u0000b"}', "NUL character"),
        (b'{"\\u0000": 1}', "NUL character"),
        (b'{"\\ud800": 1}', "lone UTF-16 surrogate"),
        (b'{"text": "\\udc00"}', "lone UTF-16 surrogate"),
    ],
)
def test_strings_a_database_cannot_store_are_rejected(raw, reason):
    with pytest.raises(LineRejected, match=reason):
        parse_line(raw)


def test_escaped_characters_and_surrogate_pairs_are_fine():
    assert parse_line(b'{"text": "\\ud83d\\ude00 \\u00b0C"}').trace == {"text": "\U0001f600 \u00b0C"}


def test_per_point_arrays_of_arrays_and_colorscales_are_fine():
    assert parse_line(b'{"customdata": [[1, "a"]], "marker": {"colorscale": [[0, "red"], [1, "blue"]]}}').trace == {
        "customdata": [[1, "a"]],
        "marker.colorscale": [[0, "red"], [1, "blue"]],
    }


@pytest.mark.parametrize("depth", [30, 500, 100_000])
def test_a_deeply_nested_line_is_rejected_however_deep(depth):
    nested = b"[" * depth + b"1" + b"]" * depth
    for raw in (b'{"x": %s}' % nested, b'{"layout": {"annotations": %s}}' % nested):
        with pytest.raises(LineRejected, match=r"nested more than 20 deep|arrays of those"):
            parse_line(raw)


def test_a_layout_may_nest_up_to_the_limit():
    nested = b'{"meta": ' + b'{"a": ' * 17 + b"1" + b"}" * 18  # meta: plotly.js keeps any shape
    assert parse_line(b'{"layout": %s}' % nested).layout == {".".join(["meta"] + ["a"] * 17): 1}


def test_the_documented_per_point_attributes_are_the_protocols_one_list():
    docs = (Path(__file__).parent.parent / "docs" / "streaming.md").read_text()
    listed = re.search(r"Per-point attributes: `([^`]*)`", docs)[1].split()
    assert sorted(listed) == sorted(PER_POINT_ATTRIBUTES)


def test_a_line_that_names_its_token_gives_it_apart_from_the_update():
    update = parse_line(b'{"x": 1, "y": 2.5, "streamtoken": " abcdefghij "}', named=True)
    assert (update.token, update.trace, update.points_only) == ("abcdefghij", {"x": 1, "y": 2.5}, True)
    assert parse_line(b'{"x": 1}', named=True).token is None
    assert parse_line(b'{"x": 1, "streamtoken": null}', named=True).token is None  # names none
    assert parse_line(b"  ", named=True) is None


@pytest.mark.parametrize("token", [b"5", b'""', b'" "', b'["a"]'])
def test_a_streamtoken_that_is_no_token_is_rejected(token):
    with pytest.raises(LineRejected, match="streamtoken: expected the stream token"):
        parse_line(b'{"x": 1, "streamtoken": %s}' % token, named=True)


def test_a_rejected_line_still_says_which_token_it_named():
    with pytest.raises(LineRejected) as rejected:
        parse_line(b'{"colour": "red", "streamtoken": "abcdefghij"}', named=True)
    assert rejected.value.token == "abcdefghij"
