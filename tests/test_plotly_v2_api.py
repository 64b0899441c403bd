"""Chart Studio's v2 REST API as chart_studio 1.1.0 calls it (research/plotly-clients.md §1.3-1.4, §5.1).

The request bodies below are the ones captured from the real client; tests/test_chart_studio_client.py
runs the client itself.
"""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey, Grid, Plot, StreamToken

pytestmark = pytest.mark.django_db

TOKEN = "tok1abcdef"


def basic(username: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()


@pytest.fixture
def alice_key(alice) -> str:
    return ApiKey.issue(alice)


@pytest.fixture
def client(alice, alice_key) -> APIClient:
    """alice's chart_studio: Basic auth, JSON on every request, CSRF checks on as for any client."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=basic("alice", alice_key))
    return client


@pytest.fixture
def bob_client(bob) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=basic("bob", ApiKey.issue(bob)))
    return client


@pytest.fixture
def token(alice) -> StreamToken:
    return StreamToken.objects.create(owner=alice, token=TOKEN)


def upload_grid(client, filename="live_grid", parent_path="folder") -> dict:
    body = {
        "data": {"cols": {"data.0.x": {"data": [], "order": 0}, "data.0.y": {"data": [], "order": 1}}},
        "world_readable": True,
    }
    if filename:
        body.update(filename=filename, parent_path=parent_path)
    response = client.post("/v2/grids", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["file"]


def figure_with_refs(grid: dict) -> dict:
    uid = {c["name"]: c["uid"] for c in grid["cols"]}
    return {
        "data": [
            {
                "mode": "lines+markers",
                "stream": {"maxpoints": 50, "token": TOKEN},
                "type": "scatter",
                "xsrc": f"{grid['fid']}:{uid['data.0.x']}",
                "ysrc": f"{grid['fid']}:{uid['data.0.y']}",
            },
            {"stream": {"token": TOKEN}, "type": "scatter"},
        ],
        "layout": {"template": {"layout": {"font": {"color": "#2a3f5f"}}}, "title": {"text": "live"}},
    }


def create_plot(client, grid: dict, headers: dict | None = None, **extra) -> dict:
    body = {"figure": figure_with_refs(grid), "filename": "live", "parent_path": "folder", "world_readable": True}
    response = client.post("/v2/plots", {**body, **extra}, format="json", **(headers or {}))
    assert response.status_code == 201, response.content
    return response.json()["file"]


# -- who is asking --------------------------------------------------------------------------


def test_users_current_answers_the_user_of_basic_username_api_key(client):
    response = client.get("/v2/users/current", content_type="application/json")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_plotly_authorization_carries_the_credentials_when_a_proxy_holds_authorization(alice, alice_key):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=basic("proxyuser", "proxypass"), HTTP_PLOTLY_AUTHORIZATION=basic("alice", alice_key)
    )
    assert client.get("/v2/users/current").json()["username"] == "alice"


def test_a_wrong_key_is_refused_with_an_errors_message(alice, alice_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("alice", "not-the-key"))
    response = client.get("/v2/users/current")
    assert response.status_code == 401
    assert "Invalid username or API key" in response.json()["errors"][0]["message"]


def test_routes_have_no_trailing_slash(client):
    assert client.get("/v2/users/current").status_code == 200
    assert client.get("/v2/users/current/").status_code == 404


# -- files, folders and grids ----------------------------------------------------------------


def test_looking_up_a_missing_file_answers_404_with_an_errors_message(client):
    response = client.get("/v2/files/lookup", {"path": "folder/live"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"]


def test_making_a_folder_succeeds_every_time_and_an_empty_path_is_refused(client):
    assert client.post("/v2/folders", {"path": "folder/sub"}, format="json").status_code == 201
    assert client.post("/v2/folders", {"path": "folder/sub"}, format="json").status_code == 201
    response = client.post("/v2/folders", {"path": "a//b"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


def test_a_grid_upload_answers_its_fid_and_a_uid_for_each_column(client, alice):
    grid = upload_grid(client)
    assert grid["fid"] == f"alice:{Grid.objects.get().pk}"
    assert grid["filetype"] == "grid"
    assert [c["name"] for c in grid["cols"]] == ["data.0.x", "data.0.y"]
    assert len({c["uid"] for c in grid["cols"]}) == 2
    found = client.get("/v2/files/lookup", {"path": "folder/live_grid"}).json()
    assert (found["fid"], found["filetype"]) == (grid["fid"], "grid")


def test_deleting_a_grid_answers_204_and_only_its_owner_may(client, bob_client):
    grid = upload_grid(client)
    assert bob_client.delete(f"/v2/grids/{grid['fid']}").status_code in (403, 404)
    assert client.delete(f"/v2/grids/{grid['fid']}").status_code == 204
    assert not Grid.objects.exists()


# -- plots ----------------------------------------------------------------------------------


def test_a_plot_is_filed_under_its_filename_and_folder_with_its_grid_data_inline(client, token):
    grid = upload_grid(client)
    grid_id = int(grid["fid"].split(":")[1])
    Grid.objects.filter(pk=grid_id).update(
        columns=[
            {**c, "data": [1, 2] if c["name"] == "data.0.x" else [3, 4]} for c in Grid.objects.get(pk=grid_id).columns
        ]
    )
    info = create_plot(client, grid)
    plot = Plot.objects.get()
    assert info["fid"] == f"alice:{plot.pk}"
    assert (plot.title, plot.folder, plot.sharing) == ("live", "folder", Plot.PUBLIC)
    first, second = plot.traces.all()
    assert first.spec == {"mode": "lines+markers", "type": "scatter", "x": [1, 2], "y": [3, 4]}
    assert (first.stream_token, first.maxpoints) == (token, 50)
    assert (second.spec, second.stream_token, second.maxpoints) == ({"type": "scatter"}, token, 500)


def test_web_url_is_the_domain_the_client_used_and_ends_with_a_slash(client, token):
    info = create_plot(client, upload_grid(client), headers={"HTTP_HOST": "plots.example.com:8443"})
    plot = Plot.objects.get()
    assert info["web_url"] == f"http://plots.example.com:8443/~alice/{plot.pk}/"


def test_the_web_url_and_its_embed_are_the_plots_pages(client, token):
    info = create_plot(client, upload_grid(client))
    page = APIClient().get(info["web_url"].removeprefix("http://testserver"))
    assert page.status_code == 200
    embed = APIClient().get(info["web_url"].removeprefix("http://testserver")[:-1] + ".embed")
    assert embed.status_code == 200


def test_replotting_under_the_same_filename_updates_the_same_plot(client, token):
    """chart_studio's second py.plot: lookup grid, delete it, upload anew, lookup plot, PUT."""
    first = create_plot(client, upload_grid(client))
    found_grid = client.get("/v2/files/lookup", {"path": "folder/live_grid"}).json()
    assert client.delete(f"/v2/grids/{found_grid['fid']}").status_code == 204
    grid = upload_grid(client)
    found = client.get("/v2/files/lookup", {"path": "folder/live"}).json()
    assert (found["fid"], found["filetype"]) == (first["fid"], "plot")
    figure = figure_with_refs(grid)
    figure["layout"]["title"] = {"text": "again"}
    response = client.put(
        f"/v2/plots/{found['fid']}",
        {"figure": figure, "filename": "live", "parent_path": "folder", "world_readable": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["file"]["web_url"] == first["web_url"]
    plot = Plot.objects.get()
    assert plot.layout["title"] == {"text": "again"}
    assert plot.traces.count() == 2


def test_content_is_the_bare_figure_with_data_inline_and_the_owners_streams(client, token):
    info = create_plot(client, upload_grid(client))
    figure = client.get(f"/v2/plots/{info['fid']}/content", {"inline_data": "true"}).json()
    assert set(figure) == {"data", "layout"}
    assert figure["data"][0] == {
        "mode": "lines+markers",
        "type": "scatter",
        "x": [],
        "y": [],
        "stream": {"token": TOKEN, "maxpoints": 50},
    }
    assert figure["layout"]["title"] == {"text": "live"}


def test_another_user_reads_a_public_plots_content_without_its_tokens(client, bob_client, token):
    info = create_plot(client, upload_grid(client))
    figure = bob_client.get(f"/v2/plots/{info['fid']}/content", {"inline_data": "true"}).json()
    assert all("stream" not in trace for trace in figure["data"])
    assert bob_client.put(f"/v2/plots/{info['fid']}", {"figure": {}}, format="json").status_code == 403


def test_a_private_plot_is_not_found_by_others(client, bob_client, token):
    info = create_plot(client, upload_grid(client), world_readable=False)
    assert bob_client.get(f"/v2/plots/{info['fid']}/content").status_code == 404
    assert client.get(f"/v2/plots/{info['fid']}/content").status_code == 200


def test_secret_sharing_answers_a_share_key_that_opens_the_plot(client, token):
    info = create_plot(client, upload_grid(client), world_readable=False, share_key_enabled=True)
    plot = Plot.objects.get()
    assert plot.sharing == Plot.SECRET
    assert info["share_key"] == plot.share_key
    # What py.plot returns: web_url without its last character, then ?share_key=.
    secret_url = info["web_url"][:-1] + "?share_key=" + info["share_key"]
    visitor = APIClient()
    page = visitor.get(secret_url.removeprefix("http://testserver"), follow=True)
    assert page.status_code == 200
    assert visitor.get(info["web_url"].removeprefix("http://testserver")).status_code == 404
    content = visitor.get(f"/v2/plots/{info['fid']}/content", {"share_key": plot.share_key})
    assert content.status_code == 200


def test_binding_a_token_that_is_not_yours_is_refused_with_a_message(client, bob):
    StreamToken.objects.create(owner=bob, token="bobs-token-1")
    figure = {"data": [{"type": "scatter", "stream": {"token": "bobs-token-1"}}]}
    response = client.post("/v2/plots", {"figure": figure, "world_readable": True}, format="json")
    assert response.status_code == 400
    assert "bobs-token-1" in response.json()["errors"][0]["message"]


def test_a_reference_to_a_column_that_does_not_exist_is_refused(client):
    figure = {"data": [{"type": "scatter", "xsrc": "alice:999:abcdef"}]}
    response = client.post("/v2/plots", {"figure": figure, "world_readable": True}, format="json")
    assert response.status_code == 400
    assert "alice:999:abcdef" in response.json()["errors"][0]["message"]


def test_a_plot_without_filename_takes_its_title_from_the_layout(client):
    figure = {"data": [{"type": "scatter", "x": [1], "y": [2]}], "layout": {"title": {"text": "Temps"}}}
    info = client.post("/v2/plots", {"figure": figure, "world_readable": True}, format="json").json()["file"]
    assert info["filename"] == "Temps"
    assert Plot.objects.get().folder == ""
