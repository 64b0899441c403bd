"""Export from the plot page: the figure as JSON, each trace's window as CSV, PNG from plotly.js."""

from __future__ import annotations

import csv
import io
import json

import pytest

from harness.producer import send_lines

pytestmark = pytest.mark.browser


@pytest.fixture
def streamed_plot(server, producer):
    """A secret plot of two traces, the first holding a window of 5 of the 8 points written."""
    first, second = producer.make_token(), producer.make_token()
    plot = producer.make_plot([first, second], maxpoints=5, sharing="secret", title="Export me")
    assert send_lines(server.port, first, [{"x": i, "y": i * 10, "text": f"p{i}"} for i in range(8)]).status == 200
    return plot


def download(page, selector: str):
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    return download.suggested_filename, download.path().read_bytes()


def test_the_figure_downloads_as_json(page, streamed_plot, producer):
    page.goto(streamed_plot["web_url"])
    name, content = download(page, "#download-json")
    assert name == f"export-me-{streamed_plot['id']}.json"
    figure = json.loads(content)
    assert figure == producer.figure(streamed_plot["id"])
    assert figure["data"][0]["x"] == [3, 4, 5, 6, 7]
    assert "stream" not in figure["data"][0]


def test_each_traces_window_downloads_as_csv(page, streamed_plot):
    page.goto(streamed_plot["web_url"])
    name, content = download(page, ".download-csv >> nth=0")
    assert name == f"export-me-{streamed_plot['id']}-trace-0-window.csv"
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows == [["x", "y", "text"]] + [[str(i), str(i * 10), f"p{i}"] for i in range(3, 8)]
    _, empty = download(page, ".download-csv >> nth=1")
    assert empty.decode().strip() == "x,y"


def test_the_export_links_keep_to_the_sharing_rule(page, streamed_plot, server):
    page.goto(streamed_plot["web_url"])
    paths = [page.get_attribute("#download-json", "href"), page.get_attribute(".download-csv >> nth=0", "href")]
    for path in paths:
        assert f"?share_key={streamed_plot['share_key']}" in path
        assert page.request.get(server.url + path.split("?")[0]).status == 404
        assert page.request.get(server.url + path).status == 200


def test_the_modebar_camera_downloads_a_png(page, streamed_plot):
    page.goto(streamed_plot["web_url"])
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 5")
    page.hover("#plot")
    name, content = download(page, ".modebar-btn[data-title='Download plot as a PNG']")
    assert name == "export-me.png"
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
