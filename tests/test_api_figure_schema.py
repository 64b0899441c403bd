"""Figures are checked against Plotly's schema: a typo is a 400 naming its path and the closest name."""

import pytest

from core.models import Plot, StreamToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice):
    return StreamToken.objects.create(owner=alice, token="alice-stream-1")


def create(client, figure=None, **body):
    body.setdefault("title", "typos")
    if figure is not None:
        body["figure"] = figure
    return client.post("/api/plots/", body, format="json")


def errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_unknown_trace_type_is_a_400_that_suggests_the_closest(as_alice):
    found = errors(create(as_alice, {"data": [{"type": "scater", "x": [1], "y": [1]}]}))
    assert "did you mean `scatter`?" in found["figure.data[0].type"]


def test_a_misspelled_stream_is_a_400_that_suggests_stream(as_alice, token):
    found = errors(create(as_alice, {"data": [{"type": "scatter", "strem": {"token": token.token}}]}))
    assert "did you mean `stream`?" in found["figure.data[0].strem"]


def test_maxpoints_outside_stream_is_a_400_that_points_into_stream(as_alice):
    found = errors(create(as_alice, {"data": [{"type": "scatter", "maxpoint": 100}]}))
    assert "did you mean `stream.maxpoints`?" in found["figure.data[0].maxpoint"]


def test_a_misspelled_name_inside_stream_is_a_400(as_alice, token):
    found = errors(create(as_alice, {"data": [{"stream": {"token": token.token, "maxpoint": 9}}]}))
    assert "did you mean `maxpoints`?" in found["figure.data[0].stream.maxpoint"]


def test_nested_attributes_and_layout_are_checked_too(as_alice):
    figure = {
        "data": [{"type": "bar", "marker": {"colr": "red"}}],
        "layout": {"xaxis2": {"titel": {"text": "t"}}, "annotations": [{"txt": "a"}]},
    }
    found = errors(create(as_alice, figure))
    assert "did you mean `color`?" in found["figure.data[0].marker.colr"]
    assert "did you mean `title`?" in found["figure.layout.xaxis2.titel"]
    assert "did you mean `text`?" in found["figure.layout.annotations[0].txt"]


def test_a_misspelled_figure_or_field_is_a_400(as_alice):
    assert "did you mean `figure`?" in errors(create(as_alice, figur={"data": []}))["figur"]
    assert "did you mean `layout`?" in errors(create(as_alice, {"data": [], "layot": {}}))["figure.layot"]


def test_a_valid_figure_of_many_kinds_is_accepted(as_alice, token):
    figure = {
        "data": [
            {"type": "scattergl", "mode": "lines", "x": [1], "y": [2], "line": {"width": 2}},
            {"type": "heatmap", "z": [[1, 2]], "colorscale": "Viridis"},
            {"x": [1], "y": [1], "stream": {"token": token.token, "maxpoints": 50}},
        ],
        "layout": {"title": {"text": "ok"}, "yaxis2": {"overlaying": "y"}, "shapes": [{"type": "line"}]},
    }
    assert create(as_alice, figure).status_code == 201


def test_nothing_is_stored_when_a_figure_is_refused(as_alice):
    create(as_alice, {"data": [{"type": "scater"}]})
    assert not Plot.objects.exists()


def test_a_trace_spec_patch_is_checked_too(as_alice, token):
    plot = create(as_alice, {"data": [{"type": "scatter"}]}).json()
    response = as_alice.patch(
        f"/api/plots/{plot['id']}/traces/0/", {"spec": {"type": "scatter", "nme": "a"}}, format="json"
    )
    assert "did you mean `name`?" in errors(response)["spec.nme"]
