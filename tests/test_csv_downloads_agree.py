"""The two CSV downloads of a streamed trace, its window (the page's link) and its history
(`?format=csv`), say the same thing: the same columns in the same order, each value on the row
of the point it came with, nested values spelled alike. An attribute that first appears
mid-stream once sat on the window's first point, and one a line left out shifted the values
after it by a point, where the history kept each on its own point."""

from __future__ import annotations

import csv
import io

from harness.live_server import fetch, new_user
from harness.producer import send_lines

LINES = [
    {"x": 0, "y": 10},
    {"x": 1, "y": 11},
    {"x": 2, "y": 12, "text": "first label", "marker": {"color": "red"}},
    {"x": 3, "y": 13, "text": "=1+1"},  # no colour for this point
    {"x": 4, "y": 14, "marker": {"color": "blue"}},  # no label for this one
]


def rows_of(url: str) -> list[list[str]]:
    status, _, body = fetch(url)
    assert status == 200, body
    return list(csv.reader(io.StringIO(body)))


def test_the_window_and_history_csv_of_a_trace_agree_row_for_row(server, integration_db):
    owner = new_user(integration_db.env, server.url)
    token = owner.make_token()
    plot = owner.make_plot([token])
    owner.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "forever"})  # the history is its own rows
    assert send_lines(server.port, token, LINES).json["accepted"] == len(LINES)

    window = rows_of(f"{server.url}/~{owner.username}/{plot['id']}/traces/0.csv")
    history = rows_of(f"{server.url}/api/plots/{plot['id']}/traces/0/points/?format=csv")

    assert window == history
    assert window[0] == ["x", "y", "text", "marker.color"]
    by_x = {row[0]: dict(zip(window[0], row, strict=True)) for row in window[1:]}
    assert by_x["0"] == {"x": "0", "y": "10", "text": "", "marker.color": ""}
    assert by_x["2"] == {"x": "2", "y": "12", "text": "first label", "marker.color": "red"}
    assert by_x["3"] == {"x": "3", "y": "13", "text": "'=1+1", "marker.color": ""}  # a formula is text
    assert by_x["4"] == {"x": "4", "y": "14", "text": "", "marker.color": "blue"}
