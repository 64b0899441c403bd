"""GET /api/plots/<id>/traces/<i>/points/: the points of a range of x, as columns, never more
than max_points, each method's choice the same as tsdownsample's on the same points."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tsdownsample import LTTBDownsampler, MinMaxDownsampler

from tests.history_data import commit_points, streamed_plot

pytestmark = pytest.mark.django_db


def wave(n: int) -> list[dict]:
    return [{"x": i, "y": round(math.sin(i / 7) * 100 + (i % 13), 3)} for i in range(n)]


@pytest.fixture
def plot(alice):
    plot = streamed_plot(alice, retention="forever")
    token = plot.traces.get().stream_token_id
    points = wave(1000)
    for start in range(0, 1000, 100):  # ten commits, as a stream's group commits store them
        commit_points(token, points[start : start + 100])
    return plot


def points(client, plot, query: str = "", index: int = 0):
    return client.get(f"/api/plots/{plot.pk}/traces/{index}/points/{query}")


def test_method_none_returns_every_point_of_the_range_in_order(anonymous, plot):
    answer = points(anonymous, plot, "?from=100&to=199.5&method=none&max_points=1000").json()
    assert answer["points"]["x"] == list(range(100, 200))
    assert answer["points"]["y"] == [p["y"] for p in wave(1000)[100:200]]
    assert (answer["total"], answer["returned"], answer["truncated"]) == (100, 100, False)


def test_method_none_stops_at_max_points_and_says_so(anonymous, plot):
    answer = points(anonymous, plot, "?method=none&max_points=10").json()
    assert answer["points"]["x"] == list(range(10))
    assert (answer["total"], answer["returned"], answer["truncated"]) == (1000, 10, True)


@pytest.mark.parametrize(
    ("method", "downsampler", "n_out"), [("lttb", LTTBDownsampler, 50), ("minmax", MinMaxDownsampler, 50)]
)
def test_a_downsampled_range_is_what_tsdownsample_picks_from_the_same_points(
    anonymous, plot, method, downsampler, n_out
):
    answer = points(anonymous, plot, f"?from=200&to=899&method={method}&max_points=50").json()
    expected = wave(1000)[200:900]
    x = np.array([p["x"] for p in expected], dtype=np.float64)
    y = np.array([p["y"] for p in expected], dtype=np.float64)
    picked = downsampler().downsample(x, y, n_out=n_out)
    assert answer["points"]["x"] == [expected[i]["x"] for i in picked]
    assert answer["points"]["y"] == [expected[i]["y"] for i in picked]
    assert answer["total"] == 700
    assert answer["returned"] == len(answer["points"]["x"]) <= 50


def test_an_odd_max_points_is_never_exceeded(anonymous, plot):
    for method in ("none", "minmax", "lttb"):
        answer = points(anonymous, plot, f"?method={method}&max_points=7").json()
        assert len(answer["points"]["x"]) == len(answer["points"]["y"]) <= 7


def test_a_range_shorter_than_max_points_comes_whole_whatever_the_method(anonymous, plot):
    answer = points(anonymous, plot, "?from=10&to=19&method=lttb&max_points=2000").json()
    assert answer["points"]["x"] == list(range(10, 20))


def test_other_per_point_attributes_come_as_columns_beside_x_and_y(anonymous, alice):
    plot = streamed_plot(alice)
    token = plot.traces.get().stream_token_id
    commit_points(token, [{"x": 1, "y": 1}, {"x": 2, "y": 2, "text": "b"}, {"x": 3, "y": 3, "marker.color": "red"}])
    answer = points(anonymous, plot, "?method=none").json()
    assert answer["points"] == {
        "x": [1, 2, 3],
        "y": [1, 2, 3],
        "text": [None, "b", None],
        "marker.color": [None, None, "red"],
    }


def test_date_ranges_compare_instants_and_dates_come_back_as_they_were_sent(anonymous, alice):
    plot = streamed_plot(alice)
    token = plot.traces.get().stream_token_id
    sent = ["2026-11-27 23:59:59.5", "2026-11-28T00:00:00", "2026-11-28 12:00", "2026-11-29"]
    commit_points(token, [{"x": x, "y": i} for i, x in enumerate(sent)])
    answer = points(anonymous, plot, "?from=2026-11-28&to=2026-11-28T23:59:59.999&method=none").json()
    assert answer["points"]["x"] == sent[1:3]
    assert points(anonymous, plot, "?from=5").status_code == 400  # a number against dates


def test_a_plot_that_keeps_only_its_window_reads_its_window(anonymous, alice):
    plot = streamed_plot(alice, retention="window", maxpoints=5)
    token = plot.traces.get().stream_token_id
    for x in range(12):
        commit_points(token, [{"x": x, "y": x}])
    assert points(anonymous, plot, "?method=none").json()["points"]["x"] == [7, 8, 9, 10, 11]


def test_a_trace_without_x_is_numbered_from_its_oldest_kept_point(anonymous, alice):
    plot = streamed_plot(alice)
    commit_points(plot.traces.get().stream_token_id, [{"y": v} for v in (5, 6, 7, 8)])
    answer = points(anonymous, plot, "?from=1&to=2&method=none").json()
    assert answer["points"] == {"x": [1, 2], "y": [6, 7]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?method=average", "method"),
        ("?max_points=3", "max_points"),
        ("?max_points=ten", "max_points"),
        ("?max_points=100000000", "max_points"),
        ("?from=yesterday", "from"),
        ("?to=nan", "to"),
        ("?from=10&to=5", "to"),
        ("?format=xlsx", "format"),
        ("?format=csv&method=lttb", "method"),
        ("?format=ndjson&max_points=10", "max_points"),
    ],
)
def test_bad_parameters_are_answered_400_naming_the_parameter(anonymous, plot, query, field):
    answer = points(anonymous, plot, query)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == field
    assert f"`{field}`" in answer.json()["message"]


def test_a_trace_that_does_not_exist_is_404(anonymous, plot):
    assert points(anonymous, plot, index=3).status_code == 404
    assert anonymous.get(f"/api/plots/{plot.pk}/traces/x/points/").status_code == 404


def test_a_range_holding_more_than_a_read_may_hold_is_400_pointing_to_the_download(anonymous, plot, settings):
    settings.HISTORY_READ_MAX_POINTS = 500
    answer = points(anonymous, plot, "?from=0&to=600")
    assert answer.status_code == 400
    assert "?format=csv" in answer.json()["message"]
    assert points(anonymous, plot, "?from=0&to=400").status_code == 200
