"""?format=csv|ndjson: every point of the range, raw, written page by page as it is read."""

from __future__ import annotations

import csv
import io
import json
import urllib.request

import pytest

from harness.live_server import new_user, wait_for
from harness.producer import RawStream
from history.range_reads import PAGE_ROWS
from tests.history_data import commit_points, streamed_plot


def download(client, plot, query: str) -> tuple[object, bytes]:
    response = client.get(f"/api/plots/{plot.pk}/traces/0/points/{query}")
    return response, b"".join(response.streaming_content)


@pytest.fixture
def plot(alice):
    plot = streamed_plot(alice)
    token = plot.traces.get().stream_token_id
    for x in range(PAGE_ROWS * 2 + 5):  # a commit a point: more rows than a page
        commit_points(token, [{"x": x, "y": x * 10, **({"text": f"t{x}"} if x % 2 else {})}], checkpoint=x % 50 == 0)
    return plot


@pytest.mark.django_db
def test_csv_has_a_row_per_point_of_the_range_x_and_y_first(anonymous, plot):
    response, body = download(anonymous, plot, "?format=csv&from=3&to=6")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="history-{plot.pk}-trace-0.csv"'
    assert list(csv.reader(io.StringIO(body.decode()))) == [
        ["x", "y", "text"],
        ["3", "30", "t3"],
        ["4", "40", ""],
        ["5", "50", "t5"],
        ["6", "60", ""],
    ]


@pytest.mark.django_db
def test_ndjson_has_an_object_per_point_in_stream_order_across_pages(anonymous, plot):
    response, body = download(anonymous, plot, "?format=ndjson")
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in body.splitlines()]
    assert [line["x"] for line in lines] == list(range(PAGE_ROWS * 2 + 5))
    assert lines[1] == {"x": 1, "y": 10, "text": "t1"}
    assert lines[2] == {"x": 2, "y": 20}


@pytest.mark.django_db
def test_an_empty_range_is_a_header_alone_or_nothing(anonymous, plot):
    assert download(anonymous, plot, "?format=csv&from=100000")[1] == b"x,y,text\r\n"
    assert download(anonymous, plot, "?format=ndjson&from=100000")[1] == b""


@pytest.mark.django_db
def test_a_bound_of_the_other_kind_is_400_before_anything_is_written(anonymous, plot):
    answer = anonymous.get(f"/api/plots/{plot.pk}/traces/0/points/?format=csv&from=2026-01-01")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "from"


def test_a_real_server_streams_the_download_and_downsamples_what_a_producer_sent(start_server, integration_db):
    server = start_server(name="history-download")
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=10)
    user.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "forever"})
    stream = RawStream(server.port, token, chunked=False)
    stream.send_body(b"".join(b'{"x": %d, "y": %d}\n' % (i, i % 7) for i in range(3000)))
    assert stream.answer().status == 200
    path = f"{server.url}/api/plots/{plot['id']}/traces/0/points/"
    with urllib.request.urlopen(f"{path}?format=ndjson", timeout=30) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"  # written as read, not buffered
        lines = [json.loads(line) for line in response]
    assert [line["x"] for line in lines] == list(range(3000))
    answer = user.ok("GET", f"/api/plots/{plot['id']}/traces/0/points/?max_points=100&method=minmax")
    assert answer["total"] == 3000 and len(answer["points"]["x"]) <= 100


def test_a_real_server_prunes_history_periodically(start_server, integration_db):
    server = start_server(name="history-pruning", HISTORY_PRUNE_INTERVAL="0.2")
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=10)
    user.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "5 points"})
    for start in range(0, 20, 5):  # four streams, each ends with a checkpoint
        stream = RawStream(server.port, token, chunked=False)
        stream.send_body(b"".join(b'{"x": %d, "y": 0}\n' % i for i in range(start, start + 5)))
        assert stream.answer().status == 200

    def history() -> list:
        return user.ok("GET", f"/api/plots/{plot['id']}/traces/0/points/?method=none")["points"]["x"]

    wait_for(lambda: history() == [15, 16, 17, 18, 19], timeout=20, message="the pruning job ran")
