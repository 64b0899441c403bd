"""Plotly's doors answer whatever Host a Plotly client hard-codes, and their answers' URLs name
the configured public address (PUBLIC_URL) or an allowed host, never a host that is not allowed;
every other page keeps Django's host check."""

from __future__ import annotations

import base64
import http.client
import json

import pytest

from harness.live_server import LiveServer, new_user

PUBLIC_URL = "https://plots.example.net"


@pytest.fixture(scope="module")
def public_server(integration_db, artifacts):
    server = LiveServer({**integration_db.env, "PUBLIC_URL": PUBLIC_URL}, artifacts, name="public-url").start()
    yield server
    server.stop(timeout=30)


@pytest.fixture
def user(public_server, integration_db):
    return new_user(integration_db.env, public_server.url)


def call(server, method: str, path: str, host: str, body: object = None, user=None) -> tuple[int, str]:
    """One request with the given Host header; the status and the body as text."""
    headers = {"Host": host}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user.username}:{user.key}".encode()).decode()
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


FIGURE = {"figure": {"data": [{"x": [1], "y": [2], "type": "scatter"}]}, "world_readable": True}


@pytest.mark.parametrize("host", ["plot.ly", "api.plot.ly", "107.21.214.199", "evil.example.com:8000"])
def test_the_v2_api_works_under_a_host_not_allowed_and_answers_the_public_address(public_server, user, host):
    status, body = call(public_server, "POST", "/v2/plots", host, FIGURE, user)
    assert status == 201, body
    file = json.loads(body)["file"]
    assert file["web_url"] == f"{PUBLIC_URL}/~{user.username}/{file['fid'].split(':')[1]}/"
    assert file["embed_url"].startswith(f"{PUBLIC_URL}/")
    assert host.split(":")[0] not in body
    status, body = call(public_server, "GET", "/v2/users/current", host, user=user)
    assert (status, json.loads(body)["username"]) == (200, user.username)


def test_an_allowed_host_is_answered_with_its_own_address(public_server, user):
    host = f"localhost:{public_server.port}"
    status, body = call(public_server, "POST", "/v2/plots", host, FIGURE, user)
    assert status == 201, body
    assert json.loads(body)["file"]["web_url"].startswith(f"http://{host}/~{user.username}/")


def test_the_old_apis_too_answer_under_a_host_not_allowed(public_server, user):
    status, body = call(public_server, "POST", "/v2/plots", "plot.ly", FIGURE, user)
    plot_id = json.loads(body)["file"]["fid"].split(":")[1]
    status, body = call(public_server, "GET", f"/apigetfile/{user.username}/{plot_id}", "plot.ly")
    assert status == 200, body
    assert json.loads(body)["payload"]["figure"]["data"][0]["y"] == [2]


@pytest.mark.parametrize("path", ["/", "/login/", "/api/plots/", "/healthz"])
def test_every_other_page_still_refuses_a_host_not_allowed(public_server, path):
    status, _ = call(public_server, "GET", path, "plot.ly")
    assert status == 400
