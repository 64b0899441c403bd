"""POST /clientresp's `origin`: `plot` makes or changes a plot from traces, `style` and `layout`
change the plot named by kwargs.filename (the Electric Imp library posts all three)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey, Plot

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(alice) -> str:
    return ApiKey.issue(alice)


def post(key: str, origin: str, args: object, options: dict) -> dict:
    """The form as the Electric Imp library sends it: URL-encoded fields, args and kwargs JSON."""
    form = {"un": "alice", "key": key, "origin": origin, "platform": "electricimp", "version": "0.1"}
    form |= {"args": json.dumps(args), "kwargs": json.dumps(options)}
    response = APIClient().generic("POST", "/clientresp", urlencode(form), content_type="")
    assert response["Connection"] == "close"  # the boards read until the server closes
    return {"status": response.status_code, **response.json()}


def make_plot(key: str) -> Plot:
    answer = post(key, "plot", [{"x": [1], "y": [2], "name": "a"}, {"x": [3], "y": [4]}], {"filename": "imp"})
    assert answer["error"] == ""
    assert answer["stream-status"] == "All Streams Go!"
    return Plot.objects.get()


def test_origin_style_sets_each_styles_attributes_on_the_trace_in_its_position(key):
    plot = make_plot(key)
    answer = post(
        key, "style", [{"name": "temperature", "mode": "lines"}, {"marker": {"color": "red"}}], {"filename": "imp"}
    )
    assert answer["error"] == ""
    assert answer["url"].endswith(f"/~alice/{plot.pk}")
    assert [t.spec for t in plot.traces.all()] == [
        {"x": [1], "y": [2], "name": "temperature", "mode": "lines"},
        {"x": [3], "y": [4], "marker": {"color": "red"}},
    ]


def test_origin_layout_gives_the_plot_its_layout(key):
    plot = make_plot(key)
    answer = post(key, "layout", {"title": "Imp", "xaxis": {"title": "time"}}, {"filename": "imp"})
    assert answer["error"] == ""
    plot.refresh_from_db()
    assert plot.layout == {"title": {"text": "Imp"}, "xaxis": {"title": {"text": "time"}}}
    assert plot.traces.count() == 2


@pytest.mark.parametrize("origin", ["style", "layout"])
def test_style_or_layout_for_a_plot_that_does_not_exist_says_so(key, origin):
    answer = post(key, origin, {} if origin == "layout" else [{}], {"filename": "nothing here"})
    assert answer["status"] == 404
    assert "nothing here" in answer["error"]
    assert not Plot.objects.exists()


def test_style_without_a_filename_says_it_is_missing(key):
    make_plot(key)
    answer = post(key, "style", [{"name": "b"}], {})
    assert answer["status"] == 404
    assert "kwargs.filename is missing" in answer["error"]


def test_more_styles_than_traces_is_refused_and_changes_nothing(key):
    plot = make_plot(key)
    answer = post(key, "style", [{"name": "a"}, {"name": "b"}, {"name": "c"}], {"filename": "imp"})
    assert answer["status"] == 400
    assert "3 styles" in answer["error"]
    assert plot.traces.first().spec["name"] == "a"


def test_a_layout_that_is_not_an_object_is_refused(key):
    make_plot(key)
    answer = post(key, "layout", [1, 2], {"filename": "imp"})
    assert answer["status"] == 400
    assert "origin=layout" in answer["error"]


def test_an_unknown_origin_is_refused_naming_the_three(key):
    answer = post(key, "sideways", [], {})
    assert answer["status"] == 400
    assert "plot, style, layout" in answer["error"]
