"""A date with a UTC offset is the instant it names, in every view: it is kept as the wall clock
of that instant in UTC (the zone the page labels its date axes with), so the window, the figure
API, the history, both CSV downloads and a range with offset bounds put points one minute apart
as instants one minute apart, in their order; a date without an offset is kept as sent and read
as UTC. A date with an offset that is no real date is refused, naming the coordinate."""

from __future__ import annotations

import csv
import io
import re

import pytest

from core.protocol import LineRejected, parse_line
from harness.live_server import fetch
from harness.producer import send_lines

# One minute apart as instants: UTC, five hours west of it, one hour east of it.
THREE_INSTANTS = [
    {"x": "2026-12-07T05:20Z", "y": 0},
    {"x": "2026-12-07 00:21-05:00", "y": 1},
    {"x": "2026-12-07T06:22+01:00", "y": 2},
]
IN_UTC = ["2026-12-07T05:20:00", "2026-12-07 05:21:00", "2026-12-07T05:22:00"]


def csv_x(url: str) -> list[str]:
    status, _, body = fetch(url)
    assert status == 200, body
    header, *rows = csv.reader(io.StringIO(body))
    return [row[header.index("x")] for row in rows]


@pytest.fixture
def streamed(server, producer):
    """A kept plot the three points were streamed to: (plot, its history points path)."""
    token = producer.make_token()
    plot = producer.make_plot([token], retention="forever")
    assert send_lines(server.port, token, THREE_INSTANTS).json["accepted"] == 3
    return plot, f"/api/plots/{plot['id']}/traces/0/points/"


def test_every_view_holds_the_three_instants_in_order_one_minute_apart(server, producer, streamed):
    plot, points = streamed
    assert producer.figure(plot["id"])["data"][0]["x"] == IN_UTC
    assert producer.ok("GET", f"{points}?method=none")["points"]["x"] == IN_UTC
    assert csv_x(f"{server.url}/~{producer.username}/{plot['id']}/traces/0.csv") == IN_UTC
    assert csv_x(f"{server.url}{points}?format=csv") == IN_UTC


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-12-07T00:20:30-05:00", "2026-12-07T06:21:30%2B01:00"),  # west to east
        ("2026-12-07T06:20:30%2B01:00", "2026-12-07T00:21:30-05:00"),  # east to west
        ("2026-12-07T05:20:30Z", "2026-12-07T05:21:30"),  # Z to a date without an offset (UTC)
        ("2026-12-07%2014:50:30%2B0930", "2026-12-06t19:21:30-10"),  # the compact spellings points may use
    ],
)
def test_a_range_with_offset_bounds_keeps_the_one_instant_inside_it(producer, streamed, start, end):
    _, points = streamed
    assert producer.ok("GET", f"{points}?method=none&from={start}&to={end}")["points"]["x"] == [IN_UTC[1]]


@pytest.mark.parametrize(
    ("bound", "message"),
    [
        ("2026-12-07T06:20:30+01:00", "write an offset +01:00 as %2B01:00"),  # the + came as a space
        ("2026-02-30T06:20:30Z", "'2026-02-30T06:20:30Z' is not a date (day is out of range for month)"),
    ],
)
def test_a_bound_that_names_no_instant_is_a_400_saying_why(server, streamed, bound, message):
    _, points = streamed
    status, _, body = fetch(f"{server.url}{points}?from={bound}")
    assert status == 400 and message in body


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2026-12-07T14:50+09:30", "2026-12-07T05:20:00"),  # east, across nothing
        ("2026-12-06T19:20:00-10:00", "2026-12-07T05:20:00"),  # west, across midnight
        ("2026-12-07T00:20:00.5-0500", "2026-12-07T05:20:00.500"),  # compact offset, milliseconds
        ("2027-01-01T01:20:00.123456+06", "2026-12-31T19:20:00.123456"),  # hours only, across a year
        ("2026-12-07 05:20:00z", "2026-12-07 05:20:00"),  # Plotly's space, a small z
        ("2026-12-07 05:20:00", "2026-12-07 05:20:00"),  # no offset: UTC already, kept as sent
        ("2026-12-07", "2026-12-07"),  # a day: kept
        ("pump-07", "pump-07"),  # a category: kept
        ("\u0662\u0660\u0662\u0666-12-07T05:20Z", "\u0662\u0660\u0662\u0666-12-07T05:20Z"),  # other digits: text
    ],
)
def test_a_coordinate_date_is_kept_as_the_utc_wall_clock_of_its_instant(sent, kept):
    assert parse_line(f'{{"x": "{sent}", "y": 1}}'.encode()).trace["x"] == kept
    assert parse_line(f'{{"x": ["{sent}", 1], "y": ["{sent}"]}}'.encode()).trace == {"x": [kept, 1], "y": [kept]}


def test_a_string_that_is_not_a_coordinate_is_kept_as_sent():
    assert parse_line(b'{"x": 1, "text": "2026-12-07T05:20Z"}').trace["text"] == "2026-12-07T05:20Z"


@pytest.mark.parametrize(
    ("sent", "reason"),
    [("2026-02-30T05:20Z", "day is out of range"), ("0001-01-01T00:30+01:00", "outside the years 1 to 9999")],
)
def test_a_date_with_an_offset_that_is_no_instant_is_rejected_naming_it(sent, reason):
    with pytest.raises(LineRejected, match=f"^x: '{re.escape(sent)}' is .*{reason}"):
        parse_line(f'{{"x": "{sent}", "y": 1}}'.encode())


def test_a_stream_rejects_that_line_alone(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    lines = [THREE_INSTANTS[0], {"x": "2026-02-30T05:20Z", "y": 1}, THREE_INSTANTS[2]]
    answer = send_lines(server.port, token, lines).json
    assert (answer["accepted"], answer["rejected"]) == (2, 1)
    assert answer["last_error"]["message"].startswith("x: '2026-02-30T05:20Z' is not a date")


def test_a_figure_sent_over_rest_holds_the_same_instants(producer):
    data = [{"type": "scatter", "x": [p["x"] for p in THREE_INSTANTS], "y": [0, 1, 2]}]
    plot = producer.ok("POST", "/api/plots/", {"title": "dates", "figure": {"data": data}})
    assert producer.figure(plot["id"])["data"][0]["x"] == IN_UTC

    trace = {"spec": {"type": "scatter", "x": ["2026-12-06T19:20:00-10:00"], "y": [0]}}
    producer.ok("PUT", f"/api/plots/{plot['id']}/traces/0/", trace)
    assert producer.figure(plot["id"])["data"][0]["x"] == ["2026-12-07T05:20:00"]


def test_a_figure_with_a_date_that_is_no_instant_is_a_400_naming_it(producer):
    data = [{"type": "scatter", "x": ["2026-12-07T05:20Z", "2026-02-30T05:20Z"], "y": [0, 1]}]
    status, answer = producer.post("/api/plots/", {"title": "dates", "figure": {"data": data}})
    assert status == 400
    assert "'2026-02-30T05:20Z' is not a date" in str(answer) and "data[0].x" in str(answer)
