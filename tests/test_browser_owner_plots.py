"""The owner's pages for plots: make one from the form or from JSON, watch it stream, edit, delete."""

from __future__ import annotations

import json

import pytest

from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser


@pytest.fixture
def owner_page(member_page):
    return member_page


def stream_to_shown_token(page, server, trace: int, points: list[dict]) -> None:
    token = page.locator(f"#owner-streams tr[data-trace='{trace}'] .token-string").inner_text()
    assert send_lines(server.port, token, points).status == 200


def test_the_form_makes_a_plot_that_then_streams(owner_page, server, artifacts):
    page = owner_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_plot-title", "Boiler temperatures")
    page.check("input[name=plot-sharing][value=public]")
    page.fill("#id_traces-0-name", "inlet")
    page.click("#add-trace")
    page.fill("#id_traces-1-name", "outlet")
    page.select_option("#id_traces-1-mode", "lines")
    page.fill("#id_traces-1-maxpoints", "3")
    page.screenshot(path=str(artifacts / "plot-create.png"), full_page=True)
    page.click("#plot-form button[type=submit]")
    page.wait_for_url("**/~*/*/")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    assert page.locator("h1").inner_text() == "Boiler temperatures"

    stream_to_shown_token(page, server, 0, [{"x": i, "y": 20 + i} for i in range(4)])
    stream_to_shown_token(page, server, 1, [{"x": i, "y": 30 - i} for i in range(4)])
    page.wait_for_function(
        "() => { const d = document.getElementById('plot').data; return d[0].x.length === 4 && d[1].x.length === 3; }"
    )
    traces = page.evaluate("() => document.getElementById('plot').data.map(t => [t.name, t.mode, t.y])")
    assert traces == [["inlet", "lines+markers", [20, 21, 22, 23]], ["outlet", "lines", [29, 28, 27]]]
    page.screenshot(path=str(artifacts / "plot-owner.png"), full_page=True)


def test_pasted_figure_json_makes_a_plot(owner_page, server, member):
    token = member.api.make_token("pasted")
    figure = {
        "data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2], "stream": {"token": token, "maxpoints": 10}}],
        "layout": {"yaxis": {"title": {"text": "count"}}},
    }
    page = owner_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_json-title", "From JSON")
    page.check("input[name=json-sharing][value=secret]")
    page.fill("#id_json-figure", json.dumps(figure))
    page.click("#json-form button[type=submit]")
    page.wait_for_url("**/~*/*/")
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.type === 'bar'")
    assert page.evaluate("() => document.getElementById('plot').layout.yaxis.title.text") == "count"
    assert "share_key=" in page.locator("#share-link").input_value()


def test_bad_figure_json_is_refused_with_the_reason(owner_page, server):
    page = owner_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_json-figure", '{"data": [{"stream": {"token": "nobody-has-this-token"}}]}')
    page.click("#json-form button[type=submit]")
    assert "nobody-has-this-token" in page.locator("#create-errors").inner_text()
    page.fill("#id_json-figure", "{not json")
    page.click("#json-form button[type=submit]")
    assert "Not valid JSON" in page.locator("#json-form").inner_text()


def test_editing_changes_title_sharing_layout_and_traces_and_keeps_the_data(owner_page, server, member):
    token = member.api.make_token()
    plot = member.api.make_plot([token], title="Before")
    page = owner_page
    page.goto(plot["web_url"])
    stream_to_shown_token(page, server, 0, [{"x": i, "y": i} for i in range(5)])

    page.goto(plot["web_url"])
    page.click("text=edit")
    page.fill("#id_plot-title", "After")
    page.check("input[name=plot-sharing][value=secret]")
    page.fill("#id_plot-layout", json.dumps({"xaxis": {"title": {"text": "seconds"}}}))
    page.fill("#id_traces-0-name", "renamed")
    page.click("#add-trace")
    page.select_option("#id_traces-1-type", "bar")
    page.select_option("#id_traces-1-token", "")
    page.click("#plot-form button[type=submit]")
    page.wait_for_url("**/~*/*/")
    page.wait_for_function("() => document.getElementById('plot').data?.length === 2")

    assert page.locator("h1").inner_text() == "After"
    assert page.evaluate("() => document.getElementById('plot').layout.xaxis.title.text") == "seconds"
    assert page.evaluate("() => document.getElementById('plot').data[0].name") == "renamed"
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == [0, 1, 2, 3, 4]
    shared = member.api.ok("GET", f"/api/plots/{plot['id']}/")
    assert shared["sharing"] == "secret" and shared["share_key"]


def test_an_open_page_follows_an_edit_made_elsewhere(owner_page, server, member, browser):
    plot = member.api.make_plot([], title="Watched")
    watcher = browser.new_page()
    try:
        watcher.goto(plot["web_url"])
        watcher.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
        owner_page.goto(f"{plot['web_url']}edit/")
        owner_page.fill("#id_plot-layout", json.dumps({"title": {"text": "Now with a title"}}))
        owner_page.click("#plot-form button[type=submit]")
        watcher.wait_for_function("() => document.getElementById('plot').layout?.title?.text === 'Now with a title'")
    finally:
        watcher.close()


def test_deleting_a_plot_asks_first_then_removes_it(owner_page, server, member):
    plot = member.api.make_plot([], title="Doomed")
    page = owner_page
    page.goto(f"{server.url}/plots/")
    page.click(f"[data-plot='{plot['id']}'] >> text=delete")
    assert "Delete “Doomed”?" in page.locator("h1").inner_text()
    page.click("button:has-text('Delete')")
    page.wait_for_url(f"{server.url}/plots/")
    assert page.locator(f"[data-plot='{plot['id']}']").count() == 0
    assert page.request.get(plot["web_url"]).status == 404


def test_my_plots_shows_which_are_streaming_now(owner_page, server, member, artifacts):
    token = member.api.make_token()
    plot = member.api.make_plot([token], title="Live list")
    page = owner_page
    page.goto(f"{server.url}/plots/")
    status = page.locator(f"[data-plot='{plot['id']}'] .plot-status")
    shows = "([selector, text]) => document.querySelector(selector).textContent === text"
    selector = f"[data-plot='{plot['id']}'] .plot-status"
    assert status.inner_text() == "idle"
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 1})
    page.wait_for_function(shows, arg=[selector, "streaming 1 of 1"])
    page.screenshot(path=str(artifacts / "my-plots.png"), full_page=True)
    assert stream.end().status == 200
    page.wait_for_function(shows, arg=[selector, "idle"])


def test_the_owner_pages_need_a_login(page, server):
    for path in ("/plots/", "/plots/new/", "/settings/"):
        page.goto(server.url + path)
        assert "/login/" in page.url
