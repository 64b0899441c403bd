"""Date bounds of a range read compare to the microsecond over the whole range the API accepts,
1700-01-01 to 2250-12-31; a date bound outside it is a 400 naming the parameter."""

from __future__ import annotations

import pytest

from harness.live_server import fetch
from harness.producer import send_lines
from tests.history_data import commit_points, streamed_plot, token_of

pytestmark = pytest.mark.django_db

LAST_MICROSECONDS = ["2250-12-31T23:59:59.999998", "2250-12-31T23:59:59.999999"]
FIRST_MICROSECONDS = ["1700-01-01T00:00:00", "1700-01-01T00:00:00.000001"]


@pytest.fixture
def plot(alice):
    plot = streamed_plot(alice, retention="forever")
    points = [
        {"x": x, "y": i} for i, x in enumerate([*FIRST_MICROSECONDS, *LAST_MICROSECONDS, "9999-12-31 23:59:59.999999"])
    ]
    commit_points(token_of(plot), points)
    return plot


def xs(client, plot, query: str) -> list[str]:
    answer = client.get(f"/api/plots/{plot.pk}/traces/0/points/{query}&method=none")
    assert answer.status_code == 200, answer.json()
    return answer.json()["points"]["x"]


def test_the_last_microsecond_accepted_is_told_from_the_one_before(anonymous, plot):
    assert xs(anonymous, plot, "?from=2250-12-31T23:59:59.999999&to=2250-12-31T23:59:59.999999") == [
        LAST_MICROSECONDS[1]
    ]
    assert xs(anonymous, plot, "?from=2250-12-31&to=2250-12-31T23:59:59.999998") == [LAST_MICROSECONDS[0]]


def test_the_first_microsecond_accepted_is_told_from_the_one_after(anonymous, plot):
    assert xs(anonymous, plot, "?from=1700-01-01&to=1700-01-01") == [FIRST_MICROSECONDS[0]]


def test_a_point_beyond_the_accepted_years_is_after_every_range_that_ends_inside_them(anonymous, plot):
    assert "9999-12-31 23:59:59.999999" not in xs(anonymous, plot, "?from=1700-01-01&to=2250-12-31T23:59:59.999999")


@pytest.mark.parametrize(("field", "value"), [("from", "10000-01-01"), ("to", "1699-12-31T23:59:59.999999")])
def test_a_date_bound_outside_the_accepted_years_is_a_400_naming_it(anonymous, plot, field, value):
    answer = anonymous.get(f"/api/plots/{plot.pk}/traces/0/points/?{field}={value}")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == field
    assert "1700-01-01 to 2250-12-31" in answer.json()["message"]


def test_a_live_server_tells_the_last_microseconds_apart_from_streamed_points(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], retention="forever")
    lines = [{"x": x, "y": i} for i, x in enumerate([*LAST_MICROSECONDS, "9999-12-31 23:59:59.999999"])]
    assert send_lines(server.port, token, lines).json["accepted"] == 3
    points = f"/api/plots/{plot['id']}/traces/0/points/?method=none"
    answer = producer.ok("GET", f"{points}&from=2250-12-31T23:59:59.999999&to=2250-12-31T23:59:59.999999")
    assert answer["points"]["x"] == [LAST_MICROSECONDS[1]]
    status, _, body = fetch(f"{server.url}{points}&from=10000-01-01")
    assert status == 400 and "1700-01-01 to 2250-12-31" in body
