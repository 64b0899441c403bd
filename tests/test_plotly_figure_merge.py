"""merge_figure: how /clientresp's `fileopt` puts new traces into a plot's figure."""

import copy

import pytest
from rest_framework.exceptions import ValidationError

from web.plotly_api.figures import merge_figure

CURRENT = {
    "data": [{"type": "scatter", "x": [1, 2], "y": [3, 4], "name": "a"}, {"x": [0], "y": [0]}],
    "layout": {"title": {"text": "old"}},
}


def test_new_makes_a_figure_of_the_traces_whatever_exists():
    traces = [{"x": [9], "y": [9]}]
    assert merge_figure(CURRENT, traces, None, "new") == {"data": traces, "layout": {}}
    assert merge_figure(None, traces, {"title": "t"}, "new") == {"data": traces, "layout": {"title": "t"}}


def test_any_fileopt_on_a_plot_not_made_yet_makes_one():
    assert merge_figure(None, [{"x": [1]}], None, "extend") == {"data": [{"x": [1]}], "layout": {}}


def test_overwrite_replaces_the_traces_and_keeps_the_layout():
    assert merge_figure(CURRENT, [{"x": [5]}], None, "overwrite") == {"data": [{"x": [5]}], "layout": CURRENT["layout"]}


def test_append_adds_the_traces_after_the_existing_ones():
    merged = merge_figure(CURRENT, [{"x": [5]}], None, "append")
    assert merged["data"] == [*CURRENT["data"], {"x": [5]}]


def test_extend_appends_arrays_sets_other_attributes_and_adds_traces_past_the_last():
    merged = merge_figure(CURRENT, [{"x": [3], "y": [5], "name": "b"}, {}, {"x": [7]}], None, "extend")
    assert merged["data"] == [
        {"type": "scatter", "x": [1, 2, 3], "y": [3, 4, 5], "name": "b"},
        {"x": [0], "y": [0]},
        {"x": [7]},
    ]


def test_a_layout_sent_replaces_the_figures_layout():
    assert merge_figure(CURRENT, [], {"title": "new"}, "append")["layout"] == {"title": "new"}


def test_the_figure_and_traces_given_are_not_changed():
    current, traces = copy.deepcopy(CURRENT), [{"x": [3]}]
    merge_figure(current, traces, None, "extend")
    merge_figure(current, traces, None, "append")
    assert (current, traces) == (CURRENT, [{"x": [3]}])


@pytest.mark.parametrize(
    ("traces", "fileopt", "message"),
    [([{"x": [1]}], "replace", "fileopt is one of"), (["not a trace"], "extend", "must be a JSON object")],
)
def test_a_bad_fileopt_or_trace_is_refused(traces, fileopt, message):
    with pytest.raises(ValidationError, match=message):
        merge_figure(CURRENT, traces, None, fileopt)
