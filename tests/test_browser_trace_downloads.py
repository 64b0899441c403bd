"""The plot page offers each trace's data as CSV under names that say what they are: for each
trace, named "Trace 0 “sine”", its current window and, when the plot keeps more than its
window, its full history (the history download of docs/history.md), both by the sharing rule."""

from __future__ import annotations

import csv
import io

import pytest

from harness.live_server import wait_for
from harness.producer import send_lines

pytestmark = pytest.mark.browser

POINTS = 8
WINDOW = 5


def kept_plot(server, producer, retention="forever", sharing="public"):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=WINDOW, sharing=sharing, title="Kept", retention=retention)
    figure = producer.ok("GET", f"/api/plots/{plot['id']}/")["figure"]
    figure["data"][0]["name"] = "sine"
    figure["data"].append({"type": "scatter", "x": [1], "y": [1]})  # unnamed, unstreamed
    plot = producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"figure": figure})
    assert send_lines(server.port, token, [{"x": i, "y": i * 10} for i in range(POINTS)]).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= POINTS)
    return plot


def download(page, locator):
    with page.expect_download() as info:
        locator.click()
    return info.value.suggested_filename, list(csv.reader(io.StringIO(info.value.path().read_bytes().decode())))


def test_each_trace_offers_its_window_and_its_full_history_under_clear_names(page, server, producer):
    plot = kept_plot(server, producer)
    page.goto(plot["web_url"])
    first = page.locator(".trace-export[data-trace='0']")
    assert first.inner_text().strip() == "Trace 0 “sine”: current window (CSV) · full history (CSV)"
    second = page.locator(".trace-export[data-trace='1']")
    assert second.inner_text().startswith("Trace 1:")
    assert " as CSV" not in page.locator(".exports").inner_text()

    window = page.get_by_role("link", name="Trace 0 “sine”: current window (CSV)")
    history = page.get_by_role("link", name="Trace 0 “sine”: full history (CSV)")
    window_name, window_rows = download(page, window)
    history_name, history_rows = download(page, history)
    assert window_rows[1:] == [[str(i), str(i * 10)] for i in range(POINTS - WINDOW, POINTS)]
    assert history_rows[1:] == [[str(i), str(i * 10)] for i in range(POINTS)]
    assert window_rows[0] == history_rows[0] == ["x", "y"]
    assert window_name != history_name
    assert window_name == f"kept-{plot['id']}-trace-0-window.csv" and history_name == f"kept-{plot['id']}-trace-0.csv"


def test_a_plot_that_keeps_only_its_window_offers_only_the_window(page, server, producer):
    plot = kept_plot(server, producer, retention="window")
    page.goto(plot["web_url"])
    assert page.locator(".download-csv").count() == 2
    assert page.locator(".download-history-csv").count() == 0
    assert "keeps only its current window" in page.locator(".exports").inner_text()


def test_a_secret_plots_history_download_carries_its_key(page, server, producer):
    plot = kept_plot(server, producer, sharing="secret")
    page.goto(plot["web_url"])
    href = page.locator(".download-history-csv").first.get_attribute("href")
    assert href.endswith(f"&share_key={plot['share_key']}")
    assert page.request.get(server.url + href).status == 200
    assert page.request.get(server.url + href.split("&")[0]).status == 404
    _, rows = download(page, page.locator(".download-history-csv").first)
    assert len(rows) == POINTS + 1
