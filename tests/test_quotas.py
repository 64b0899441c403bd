"""Per-user quotas (finding 8, fair sharing): tokens, plots, traces per plot, traces per token.

Each is a setting; past one, 429 with a message naming it, on REST, Plotly's routes and the
pages' forms alike, and nothing of the refused request is kept.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey, Plot, StreamToken, Trace
from harness.live_server import new_user

pytestmark = pytest.mark.django_db


def traces(*tokens: str | None) -> dict:
    return {"data": [{"x": [], "y": [], **({"stream": {"token": t}} if t else {})} for t in tokens]}


def assert_429(response, setting: str) -> None:
    assert response.status_code == 429, response.content
    assert setting in response.json()["message"]


def test_a_user_past_the_token_quota_gets_429_and_revoking_frees_a_place(as_alice, alice, settings):
    settings.QUOTA_TOKENS_PER_USER = 2
    made = [as_alice.post("/api/streams/", {}, format="json").json() for _ in range(2)]
    assert_429(as_alice.post("/api/streams/", {}, format="json"), "QUOTA_TOKENS_PER_USER")
    assert StreamToken.objects.filter(owner=alice).count() == 2
    as_alice.delete(f"/api/streams/{made[0]['id']}/")
    assert as_alice.post("/api/streams/", {}, format="json").status_code == 201


def test_the_token_quota_is_per_user(as_alice, as_bob, settings):
    settings.QUOTA_TOKENS_PER_USER = 1
    assert as_alice.post("/api/streams/", {}, format="json").status_code == 201
    assert as_bob.post("/api/streams/", {}, format="json").status_code == 201


def test_a_user_past_the_plot_quota_gets_429(as_alice, alice, settings):
    settings.QUOTA_PLOTS_PER_USER = 1
    assert as_alice.post("/api/plots/", {"title": "one"}, format="json").status_code == 201
    assert_429(as_alice.post("/api/plots/", {"title": "two"}, format="json"), "QUOTA_PLOTS_PER_USER")
    assert Plot.objects.filter(owner=alice).count() == 1


def test_a_figure_with_more_traces_than_the_plot_quota_gets_429(as_alice, settings):
    settings.QUOTA_TRACES_PER_PLOT = 2
    response = as_alice.post("/api/plots/", {"figure": traces(None, None, None)}, format="json")
    assert_429(response, "QUOTA_TRACES_PER_PLOT")
    assert not Plot.objects.exists()


def test_adding_a_trace_past_the_plot_quota_gets_429(as_alice, settings):
    settings.QUOTA_TRACES_PER_PLOT = 2
    plot = as_alice.post("/api/plots/", {"figure": traces(None, None)}, format="json").json()
    assert_429(as_alice.post(f"/api/plots/{plot['id']}/traces/", {"spec": {}}, format="json"), "QUOTA_TRACES_PER_PLOT")
    assert Trace.objects.count() == 2


def test_one_token_drives_at_most_the_quota_of_traces_over_all_plots(as_alice, alice, settings):
    settings.QUOTA_TRACES_PER_TOKEN = 2
    StreamToken.objects.create(owner=alice, token="busy-token-1")
    StreamToken.objects.create(owner=alice, token="other-token-1")
    as_alice.post("/api/plots/", {"figure": traces("busy-token-1")}, format="json")
    assert_429(
        as_alice.post("/api/plots/", {"figure": traces("busy-token-1", "busy-token-1")}, format="json"),
        "QUOTA_TRACES_PER_TOKEN",
    )
    second = as_alice.post("/api/plots/", {"figure": traces("busy-token-1", "other-token-1")}, format="json").json()
    rebind = as_alice.patch(f"/api/plots/{second['id']}/traces/1/", {"token": "busy-token-1"}, format="json")
    assert_429(rebind, "QUOTA_TRACES_PER_TOKEN")
    assert Trace.objects.filter(stream_token__token="busy-token-1").count() == 2


def test_replacing_a_plots_figure_does_not_count_its_old_traces(as_alice, alice, settings):
    settings.QUOTA_TRACES_PER_TOKEN = 2
    StreamToken.objects.create(owner=alice, token="busy-token-2")
    plot = as_alice.post("/api/plots/", {"figure": traces("busy-token-2", "busy-token-2")}, format="json").json()
    again = as_alice.patch(
        f"/api/plots/{plot['id']}/", {"figure": traces("busy-token-2", "busy-token-2")}, format="json"
    )
    assert again.status_code == 200


def test_clientresp_answers_a_quota_in_its_error_field(alice, settings):
    settings.QUOTA_PLOTS_PER_USER = 1
    Plot.objects.create(owner=alice)
    form = {"un": "alice", "key": ApiKey.issue(alice), "args": json.dumps([{"x": [1]}]), "kwargs": "{}"}
    response = APIClient().generic(
        "POST", "/clientresp", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 429
    assert "QUOTA_PLOTS_PER_USER" in response.json()["error"]


def test_plotlys_v2_plots_route_answers_a_quota_with_429(alice, settings):
    settings.QUOTA_TRACES_PER_PLOT = 1
    auth = "Basic " + base64.b64encode(f"alice:{ApiKey.issue(alice)}".encode()).decode()
    response = APIClient().post("/v2/plots", {"figure": traces(None, None)}, format="json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 429
    assert "QUOTA_TRACES_PER_PLOT" in response.json()["errors"][0]["message"]


def test_the_new_plot_form_shows_the_quota_with_429_and_keeps_nothing(client, alice, settings):
    settings.QUOTA_TRACES_PER_TOKEN = 1
    StreamToken.objects.create(owner=alice, token="form-token-1")
    client.force_login(alice)
    figure = json.dumps(traces("form-token-1", "form-token-1"))
    response = client.post(
        "/plots/new/", {"kind": "json", "json-title": "t", "json-sharing": "public", "json-figure": figure}
    )
    assert response.status_code == 429
    assert "QUOTA_TRACES_PER_TOKEN" in response.content.decode()
    assert not Plot.objects.exists()


def test_the_token_form_shows_the_quota_with_429(client, alice, settings):
    settings.QUOTA_TOKENS_PER_USER = 1
    StreamToken.objects.create(owner=alice)
    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "one too many", "token": ""})
    assert response.status_code == 429
    assert "QUOTA_TOKENS_PER_USER" in response.content.decode()
    assert StreamToken.objects.filter(owner=alice).count() == 1


def test_a_real_server_enforces_each_quota_with_429(start_server):
    server = start_server(name="quotas", QUOTA_TOKENS_PER_USER="2", QUOTA_TRACES_PER_TOKEN="3")
    user = new_user(server.env, server.url)
    token = user.make_token()
    user.make_token()
    status, body = user.request("POST", "/api/streams/", {})
    assert (status, "QUOTA_TOKENS_PER_USER" in body["message"]) == (429, True)
    user.make_plot([token, token])
    status, body = user.request("POST", "/api/plots/", {"figure": traces(token, token)})
    assert (status, "QUOTA_TRACES_PER_TOKEN" in body["message"]) == (429, True)
    assert user.ok("GET", "/api/plots/")["count"] == 1
