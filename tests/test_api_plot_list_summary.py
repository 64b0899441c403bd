"""`GET /api/plots/` answers a summary of each plot (what it is, where to read it, how many
traces and streams), not every figure in full: a list of large plots stayed small enough to
page through. The figure comes with one plot (`/api/plots/<id>/`, `/figure/`), or with the
list when asked for (`?expand=figure`)."""

from __future__ import annotations

import json

from harness.live_server import new_user

POINTS = 5000


def a_user_with_a_large_plot(integration_db, server):
    user = new_user(integration_db.env, server.url)
    token = user.make_token("big")
    trace = {"type": "scatter", "x": list(range(POINTS)), "y": [i * 0.5 for i in range(POINTS)]}
    streamed = {"type": "scatter", "x": [], "y": [], "stream": {"token": token, "maxpoints": 100}}
    plot = user.ok("POST", "/api/plots/", {"title": "Large", "figure": {"data": [trace, streamed]}})
    return user, plot


def test_the_list_names_each_plot_without_its_figure(integration_db, server):
    user, plot = a_user_with_a_large_plot(integration_db, server)
    status, page = user.request("GET", "/api/plots/")
    assert status == 200 and page["count"] == 1
    (summary,) = page["results"]
    assert "figure" not in summary
    assert summary["id"] == plot["id"] and summary["title"] == "Large"
    assert summary["traces"] == 2 and summary["streams"] == 1
    assert summary["web_url"] == plot["web_url"]
    assert summary["url"] == f"{server.url}/api/plots/{plot['id']}/"
    assert summary["figure_url"] == f"{server.url}/api/plots/{plot['id']}/figure/"
    assert len(json.dumps(page)) < 2000

    # Where the summary points, the whole plot is.
    whole = user.ok("GET", summary["url"].removeprefix(server.url))
    assert len(whole["figure"]["data"][0]["x"]) == POINTS
    figure = user.ok("GET", summary["figure_url"].removeprefix(server.url))
    assert len(figure["data"][0]["y"]) == POINTS


def test_the_list_carries_every_figure_when_asked_to(integration_db, server):
    user, _ = a_user_with_a_large_plot(integration_db, server)
    (expanded,) = user.ok("GET", "/api/plots/?expand=figure")["results"]
    assert len(expanded["figure"]["data"][0]["x"]) == POINTS
    assert expanded["figure"]["data"][1]["stream"]["maxpoints"] == 100  # the owner's view: tokens kept


def test_an_unknown_expansion_is_refused_by_name(integration_db, server):
    user, _ = a_user_with_a_large_plot(integration_db, server)
    status, body = user.request("GET", "/api/plots/?expand=traces")
    assert status == 400
    assert "expand" in json.dumps(body) and "?expand=figure" in json.dumps(body)


def test_a_secret_plots_summary_links_carry_its_key(integration_db, server):
    user = new_user(integration_db.env, server.url)
    plot = user.ok("POST", "/api/plots/", {"title": "Hidden", "sharing": "secret"})
    (summary,) = user.ok("GET", "/api/plots/")["results"]
    key = plot["share_key"]
    assert summary["url"].endswith(f"?share_key={key}") and summary["figure_url"].endswith(f"?share_key={key}")
