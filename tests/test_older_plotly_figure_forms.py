"""Plotly's older figure forms, which plotly.js (since v3) no longer draws, arrive in the forms it
draws, through every door: a title given as a string (on the plot, any axis, a colorbar, a
legend) becomes `{"text": ...}`, and `titlefont` becomes `title.font`. Nothing is accepted that
the page would then draw as nothing."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from harness.live_server import fetch
from harness.producer import send_lines

OLD_LAYOUT = {
    "title": "Reactor temperature",
    "titlefont": {"size": 22},
    "xaxis": {"title": "time (s)"},
    "yaxis": {"title": "°C", "titlefont": {"color": "red"}},
    "xaxis2": {"title": "second time"},
    "legend": {"title": "sensors"},
}
NEW_LAYOUT = {
    "title": {"text": "Reactor temperature", "font": {"size": 22}},
    "xaxis": {"title": {"text": "time (s)"}},
    "yaxis": {"title": {"text": "°C", "font": {"color": "red"}}},
    "xaxis2": {"title": {"text": "second time"}},
    "legend": {"title": {"text": "sensors"}},
}
OLD_HEATMAP = {"type": "heatmap", "z": [[1, 2], [3, 4]], "colorbar": {"title": "kelvin", "titleside": "top"}}
NEW_HEATMAP = {"type": "heatmap", "z": [[1, 2], [3, 4]], "colorbar": {"title": {"text": "kelvin", "side": "top"}}}


def owner_layout(producer, plot_id: int) -> dict:
    return producer.ok("GET", f"/api/plots/{plot_id}/")["figure"]["layout"]


def test_the_rest_api_stores_string_titles_as_title_text(producer):
    plot = producer.ok("POST", "/api/plots/", {"figure": {"data": [OLD_HEATMAP], "layout": OLD_LAYOUT}})
    assert plot["figure"]["layout"] == NEW_LAYOUT
    assert plot["figure"]["data"] == [NEW_HEATMAP]
    edited = producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"figure": {"layout": {"yaxis": {"title": "K"}}}})
    assert edited["figure"]["layout"] == {"yaxis": {"title": {"text": "K"}}}
    trace = producer.ok("POST", f"/api/plots/{plot['id']}/traces/", {"spec": OLD_HEATMAP})
    assert trace["spec"] == NEW_HEATMAP


def test_an_old_title_name_that_has_no_new_place_is_refused_with_a_hint(producer):
    status, body = producer.post("/api/plots/", {"figure": {"layout": {"xaxis": {"titleside": "top"}}}})
    assert status == 400
    assert body["errors"][0]["field"] == "figure.layout.xaxis.titleside"


def test_a_misspelled_title_name_is_named_not_taken_for_an_old_one(producer):
    status, body = producer.post("/api/plots/", {"figure": {"layout": {"xaxis": {"titlex": "time"}}}})
    assert status == 400
    assert body["errors"][0]["field"] == "figure.layout.xaxis.titlex"
    assert "did you mean `title`?" in body["errors"][0]["message"]


def test_plotlys_v2_route_stores_string_titles_as_title_text(producer):
    status, body = producer.request("POST", "/v2/plots", {"figure": {"data": [OLD_HEATMAP], "layout": OLD_LAYOUT}})
    assert status == 201, body
    plot_id = int(body["file"]["fid"].split(":")[1])
    assert owner_layout(producer, plot_id) == NEW_LAYOUT
    assert producer.figure(plot_id)["data"][0]["colorbar"] == NEW_HEATMAP["colorbar"]


def test_clientresp_stores_string_titles_as_title_text(server, producer):
    form = {
        "un": producer.username,
        "key": producer.key,
        "origin": "plot",
        "platform": "python",
        "args": json.dumps([{"x": [1], "y": [2]}]),
        "kwargs": json.dumps({"filename": "old titles", "layout": OLD_LAYOUT}),
    }
    status, _, body = fetch(
        f"{server.url}/clientresp",
        data=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and json.loads(body)["error"] == "", body
    plots = producer.ok("GET", "/api/plots/")["results"]
    [plot] = [p for p in plots if p["title"] == "old titles"]
    assert owner_layout(producer, plot["id"]) == NEW_LAYOUT


def test_a_stream_lines_string_titles_and_titlefont_become_title_text_and_font(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    line = {"x": 1, "y": 1, "layout": {"title": "Reactor", "xaxis": {"title": "t", "titlefont": {"size": 9}}}}
    answer = send_lines(server.port, token, [line]).json
    assert (answer["accepted"], answer["rejected"]) == (1, 0), answer
    layout = producer.figure(plot["id"])["layout"]
    assert layout["title"] == {"text": "Reactor"}
    assert layout["xaxis"]["title"] == {"text": "t", "font": {"size": 9}}


def test_the_page_draws_the_titles_of_an_old_figure(server, producer, page):
    plot = producer.ok("POST", "/api/plots/", {"figure": {"data": [{"x": [1, 2], "y": [3, 4]}], "layout": OLD_LAYOUT}})
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.querySelector('#plot .gtitle')?.textContent === 'Reactor temperature'")
    assert page.text_content("#plot .xtitle") == "time (s)"
    assert page.text_content("#plot .ytitle") == "°C"
    assert not page.js_errors
