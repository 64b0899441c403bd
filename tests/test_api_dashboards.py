"""Against a real server: /api/dashboards/ for the owner, another user, an anonymous visitor and
a secret link; a shared dashboard never opens its plots' own pages or API."""

from __future__ import annotations

import pytest

from harness.live_server import Api, fetch, new_user


@pytest.fixture
def owner(integration_db, server) -> Api:
    return new_user(integration_db.env, server.url)


@pytest.fixture
def someone_else(integration_db, server) -> Api:
    return new_user(integration_db.env, server.url)


def test_the_owner_creates_reads_lists_edits_and_deletes_a_dashboard(owner, server):
    plot = owner.make_plot([owner.make_token()], sharing="private")
    created = owner.ok("POST", "/api/dashboards/", {"title": "rig", "panels": [{"plot": plot["id"]}]})
    assert created["panels"] == [{"plot": plot["id"], "x": 0, "y": 0, "w": 6, "h": 4, "title": ""}]
    assert created["web_url"] == f"{server.url}/~{owner.username}/dashboards/{created['id']}/"
    assert created["share_key"] is None
    assert [d["id"] for d in owner.ok("GET", "/api/dashboards/")["results"]] == [created["id"]]
    moved = owner.ok(
        "PATCH", f"/api/dashboards/{created['id']}/", {"panels": [{"plot": plot["id"], "x": 6, "y": 2, "w": 6, "h": 3}]}
    )
    assert moved["panels"][0] == {"plot": plot["id"], "x": 6, "y": 2, "w": 6, "h": 3, "title": ""}
    status, _, _ = fetch(created["web_url"])
    assert status == 404  # private: the page is the owner's alone (a browser session, not a key)
    assert owner.request("DELETE", f"/api/dashboards/{created['id']}/")[0] == 204
    assert owner.request("GET", f"/api/dashboards/{created['id']}/")[0] == 404
    assert owner.figure(plot["id"])["data"]  # the plot stays


def test_another_users_private_plot_is_refused_naming_the_panel(owner, someone_else):
    mine = owner.make_plot([owner.make_token()])
    theirs = someone_else.make_plot([someone_else.make_token()], sharing="private")
    status, body = owner.post("/api/dashboards/", {"panels": [{"plot": mine["id"]}, {"plot": theirs["id"]}]})
    assert status == 400
    assert f"panel 2: no plot {theirs['id']}" in str(body)
    public = someone_else.make_plot([someone_else.make_token()], sharing="public")
    assert owner.post("/api/dashboards/", {"panels": [{"plot": public["id"]}]})[0] == 201


def test_a_private_dashboard_is_the_owners_alone(owner, someone_else, visitor):
    dashboard = owner.ok("POST", "/api/dashboards/", {"title": "mine"})
    path = f"/api/dashboards/{dashboard['id']}/"
    assert someone_else.request("GET", path)[0] == 404
    assert visitor.request("GET", path)[0] == 404
    assert someone_else.request("PATCH", path, {"title": "taken"})[0] == 404
    assert someone_else.request("DELETE", path)[0] == 404
    assert visitor.request("GET", "/api/dashboards/")[0] in (401, 403)


def test_a_public_dashboard_is_read_by_anyone_and_changed_by_its_owner_alone(owner, someone_else, visitor):
    dashboard = owner.ok("POST", "/api/dashboards/", {"title": "wall", "sharing": "public"})
    path = f"/api/dashboards/{dashboard['id']}/"
    assert visitor.ok("GET", path)["title"] == "wall"
    assert someone_else.request("PATCH", path, {"title": "taken"})[0] == 403
    assert someone_else.request("DELETE", path)[0] == 403
    assert visitor.request("PATCH", path, {"title": "taken"})[0] in (401, 403)
    assert someone_else.ok("GET", "/api/dashboards/")["results"] == []  # the list is one's own


def test_a_secret_link_shows_the_dashboard_and_its_private_plots_only_through_it(owner, visitor, server):
    plot = owner.make_plot([owner.make_token()], sharing="private")
    dashboard = owner.ok("POST", "/api/dashboards/", {"sharing": "secret", "panels": [{"plot": plot["id"]}]})
    key = dashboard["share_key"]
    assert key and dashboard["web_url"].endswith(f"?share_key={key}")
    path = f"/api/dashboards/{dashboard['id']}/"
    assert visitor.request("GET", path)[0] == 404
    assert visitor.ok("GET", f"{path}?share_key={key}")["panels"][0]["plot"] == plot["id"]
    assert fetch(dashboard["web_url"])[0] == 200
    assert fetch(dashboard["embed_url"])[0] == 200
    # Never through the plot's own API or page, with the dashboard's key or without.
    assert visitor.request("GET", f"/api/plots/{plot['id']}/?share_key={key}")[0] == 404
    assert fetch(f"{server.url}/~{owner.username}/{plot['id']}/?share_key={key}")[0] == 404
    # A new key: the old link stops working.
    rotated = owner.ok("POST", f"{path}share_key/")
    assert rotated["share_key"] != key
    assert visitor.request("GET", f"{path}?share_key={key}")[0] == 404


def test_a_share_key_cannot_be_set_and_bad_fields_say_what_is_wrong(owner):
    dashboard = owner.ok("POST", "/api/dashboards/", {"title": "t"})
    path = f"/api/dashboards/{dashboard['id']}/"
    status, body = owner.request("PATCH", path, {"share_key": "mine"})
    assert status == 400 and "share_key" in str(body)
    status, body = owner.request("PATCH", path, {"sharing": "everyone"})
    assert status == 400 and "sharing" in str(body)
    status, body = owner.request("PATCH", path, {"panels": [{"plot": 1, "x": 10, "y": 0, "w": 4}]})
    assert status == 400 and "panel 1: x + w is at most 12" in str(body)


def test_deleting_a_plot_removes_its_panels(owner):
    kept = owner.make_plot([owner.make_token()])
    gone = owner.make_plot([owner.make_token()])
    dashboard = owner.ok("POST", "/api/dashboards/", {"panels": [{"plot": kept["id"]}, {"plot": gone["id"]}]})
    owner.ok("DELETE", f"/api/plots/{gone['id']}/")
    panels = owner.ok("GET", f"/api/dashboards/{dashboard['id']}/")["panels"]
    assert [p["plot"] for p in panels] == [kept["id"]]


def test_a_plot_made_private_by_its_owner_no_longer_shows_on_someone_elses_dashboard(owner, someone_else):
    theirs = someone_else.make_plot([someone_else.make_token()], sharing="public", title="Tank 9 level")
    dashboard = owner.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": theirs["id"]}]})
    assert "Tank 9 level" in fetch(dashboard["web_url"])[2]
    someone_else.ok("PATCH", f"/api/plots/{theirs['id']}/", {"sharing": "private"})
    page = fetch(dashboard["web_url"])[2]
    assert "Tank 9 level" not in page and "not shared" in page
