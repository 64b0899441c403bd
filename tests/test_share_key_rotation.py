"""A secret link can be revoked: share keys rotate on demand and on every switch back to secret
(finding 10). The old key stops working on the REST figure, the page and the WebSocket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from websockets.sync.client import connect

from core.models import Plot

SECRET_PLOT = {"title": "s", "sharing": "secret"}


def make_secret(client) -> dict:
    return client.post("/api/plots/", SECRET_PLOT, format="json").json()


@pytest.mark.django_db
def test_secret_then_private_then_secret_gives_a_new_key_and_the_old_one_stops_working(as_alice, anonymous):
    plot = make_secret(as_alice)
    old_key = plot["share_key"]
    assert anonymous.get(f"/api/plots/{plot['id']}/figure/?share_key={old_key}").status_code == 200
    as_alice.patch(f"/api/plots/{plot['id']}/", {"sharing": "private"}, format="json")
    again = as_alice.patch(f"/api/plots/{plot['id']}/", {"sharing": "secret"}, format="json").json()
    assert again["share_key"] and again["share_key"] != old_key
    assert f"share_key={again['share_key']}" in again["web_url"]
    assert anonymous.get(f"/api/plots/{plot['id']}/figure/?share_key={old_key}").status_code == 404
    assert anonymous.get(f"/api/plots/{plot['id']}/figure/?share_key={again['share_key']}").status_code == 200


@pytest.mark.django_db
def test_staying_secret_keeps_the_key(as_alice):
    plot = make_secret(as_alice)
    edited = as_alice.patch(f"/api/plots/{plot['id']}/", {"title": "renamed", "sharing": "secret"}, format="json")
    assert edited.json()["share_key"] == plot["share_key"]


@pytest.mark.django_db
def test_post_share_key_rotates_it(as_alice, anonymous):
    plot = make_secret(as_alice)
    response = as_alice.post(f"/api/plots/{plot['id']}/share_key/")
    assert response.status_code == 200
    new_key = response.json()["share_key"]
    assert new_key != plot["share_key"] and Plot.objects.get(pk=plot["id"]).share_key == new_key
    assert anonymous.get(f"/api/plots/{plot['id']}/?share_key={plot['share_key']}").status_code == 404
    assert anonymous.get(f"/api/plots/{plot['id']}/?share_key={new_key}").status_code == 200


@pytest.mark.django_db
def test_only_a_secret_plot_has_a_key_to_rotate(as_alice):
    plot = as_alice.post("/api/plots/", {"sharing": "public"}, format="json").json()
    response = as_alice.post(f"/api/plots/{plot['id']}/share_key/")
    assert response.status_code == 400
    assert "secret" in response.json()["message"]


@pytest.mark.django_db
def test_only_the_owner_may_rotate(as_alice, as_bob, anonymous):
    plot = make_secret(as_alice)
    assert as_bob.post(f"/api/plots/{plot['id']}/share_key/?share_key={plot['share_key']}").status_code == 403
    assert anonymous.post(f"/api/plots/{plot['id']}/share_key/").status_code == 401
    assert Plot.objects.get(pk=plot["id"]).share_key == plot["share_key"]


@pytest.mark.django_db
def test_patch_cannot_set_a_share_key_and_says_how_to_rotate(as_alice):
    plot = make_secret(as_alice)
    response = as_alice.patch(f"/api/plots/{plot['id']}/", {"share_key": "chosen-by-me"}, format="json")
    assert response.status_code == 400
    assert "/share_key/" in response.json()["message"]
    assert Plot.objects.get(pk=plot["id"]).share_key == plot["share_key"]


@pytest.mark.django_db
def test_the_edit_page_switching_back_to_secret_mints_a_new_key(client, alice):
    plot = Plot.objects.create(owner=alice, title="p", sharing=Plot.SECRET)
    old_key = plot.share_key
    client.force_login(alice)
    edit = f"/~alice/{plot.pk}/edit/"
    for sharing in ("private", "secret"):
        form = {"plot-title": "p", "plot-sharing": sharing, "plot-layout": "{}"}
        form.update({"traces-TOTAL_FORMS": "0", "traces-INITIAL_FORMS": "0"})
        assert client.post(edit, form).status_code == 302
    plot.refresh_from_db()
    assert plot.sharing == Plot.SECRET and plot.share_key != old_key


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_rotated_key_closes_open_viewers_and_refuses_the_page_figure_and_socket(server, producer):
    plot = producer.ok("POST", "/api/plots/", SECRET_PLOT)
    old_key = plot["share_key"]
    socket_url = f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/?share_key={old_key}"
    with connect(socket_url) as viewer:
        assert json.loads(viewer.recv(timeout=5))["type"] == "snapshot"
        new_key = producer.ok("POST", f"/api/plots/{plot['id']}/share_key/")["share_key"]
        assert json.loads(viewer.recv(timeout=5)) == {
            "type": "error",
            "status": 404,
            "message": "no such plot, or not shared with you",
        }
    with connect(socket_url) as viewer:
        assert json.loads(viewer.recv(timeout=5))["status"] == 404
    page = f"{server.url}/~{producer.username}/{plot['id']}/"
    assert status_of(f"{page}?share_key={old_key}") == 404
    assert status_of(f"{server.url}/api/plots/{plot['id']}/figure/?share_key={old_key}") == 404
    assert status_of(f"{page}?share_key={new_key}") == 200
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/?share_key={new_key}") as viewer:
        assert json.loads(viewer.recv(timeout=5))["type"] == "snapshot"
