"""The admin, as an operator uses it in Chromium: live columns, search, filters, clearing a window."""

from __future__ import annotations

import json

import pytest

from harness.live_server import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def boiler_plot(streaming_plot):
    """A plot whose producer holds its stream open, with 6 points written."""
    live = streaming_plot(name="boiler-feed", title="Boiler room", first={"x": 0, "y": 0})
    for i in range(1, 6):
        live.stream.write({"x": i, "y": i})
    return live.plot, live.token, live.stream


def wait_for_points(producer, plot_id: int, count: int) -> None:
    wait_for(lambda: len(producer.figure(plot_id)["data"][0]["x"]) == count, message=f"{count} points stored")


def test_plots_list_with_live_columns_search_and_filters(admin_page, server, boiler_plot, producer, artifacts):
    plot, _, _ = boiler_plot
    page = admin_page
    wait_for_points(producer, plot["id"], 6)
    page.goto(f"{server.url}/admin/plots/plot/?q=Boiler+room&streaming=yes")
    row = page.locator(f"#result_list tbody tr:has(a:text-is('{plot['id']}'))")
    assert row.locator("td.field-streaming").inner_text() == "1"
    assert row.locator("td.field-trace_count").inner_text() == "1"
    page.screenshot(path=str(artifacts / "admin-plots.png"), full_page=True)
    page.goto(f"{server.url}/admin/plots/plot/?q=Boiler+room&streaming=no")
    assert page.locator(f"#result_list a:text-is('{plot['id']}')").count() == 0


def test_a_plot_shows_its_traces_inline_with_their_stream(admin_page, server, boiler_plot, producer):
    plot, _, _ = boiler_plot
    wait_for_points(producer, plot["id"], 6)
    admin_page.goto(f"{server.url}/admin/plots/plot/{plot['id']}/change/")
    inline = admin_page.locator(".inline-related").first
    assert inline.locator(".field-points .readonly").inner_text() == "6"
    assert inline.locator(".field-stream_status .readonly").inner_text().startswith("connected")


def test_tokens_list_shows_their_live_status(admin_page, server, boiler_plot, producer):
    _, token, stream = boiler_plot
    stream.write("not json\n")
    admin_page.goto(f"{server.url}/admin/plots/streamtoken/?q={token}")
    row = admin_page.locator("#result_list tbody tr").first

    def rejected_shows() -> bool:
        admin_page.reload()
        return row.locator("td.field-rejected").inner_text() == "1"

    wait_for(rejected_shows, message="the rejected line in the token list")
    assert row.locator("td.field-accepted").inner_text() == "6"
    assert row.locator("td.field-rejected").inner_text() == "1"
    assert row.locator("td.field-connected_now img").get_attribute("alt") == "True"
    assert row.locator("td.field-short_last_error").inner_text() != ""


def test_the_clear_action_empties_a_streams_window_for_the_live_page_too(
    admin_page, server, boiler_plot, producer, browser
):
    plot, token, stream = boiler_plot
    watcher = browser.new_page()
    try:
        watcher.goto(plot["web_url"])
        watcher.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 6")
        admin_page.goto(f"{server.url}/admin/plots/streamtoken/?q={token}")
        admin_page.check("#result_list tbody tr input.action-select")
        admin_page.select_option("select[name=action]", "clear_stream_windows")
        admin_page.click("button[name=index]")
        assert "Cleared the windows" in admin_page.locator(".messagelist").inner_text()
        watcher.wait_for_function("() => document.getElementById('plot').data[0].x.length === 0")
        assert producer.figure(plot["id"])["data"][0]["x"] == []

        stream.write({"x": 100, "y": 1})  # the stream goes on into the empty window
        watcher.wait_for_function("() => document.getElementById('plot').data[0].x.length === 1")
        # Viewers get a point before it is stored: the figure follows within a commit.
        wait_for(lambda: json.dumps(producer.figure(plot["id"])["data"][0]["x"]) == "[100]")
    finally:
        watcher.close()
