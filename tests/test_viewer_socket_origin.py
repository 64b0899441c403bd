"""A viewer socket opens only from a page of the host the server serves (or a trusted origin):
a page on another site cannot read a plot live with its visitor's session."""

from __future__ import annotations

import json
import socket

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from harness.live_server import new_user


def open_viewer(server, plot_id: int, origin: str | None = None, host: str | None = None) -> dict:
    """Connect a viewer socket with the given Origin (None: none, as non-browser clients do) and
    return its first message; raises InvalidStatus if the server refuses the handshake."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    url = f"ws://{host or f'127.0.0.1:{server.port}'}/ws/plots/{plot_id}/"
    with connect(url, sock=sock, origin=origin, open_timeout=10) as viewer:
        return json.loads(viewer.recv(timeout=10))


@pytest.fixture
def public_plot(server, producer) -> dict:
    return producer.make_plot([producer.make_token()])


def test_a_page_of_the_served_host_may_open_a_viewer(server, public_plot):
    assert "figure" in open_viewer(server, public_plot["id"], origin=f"http://127.0.0.1:{server.port}")


def test_a_client_that_is_not_a_browser_sends_no_origin_and_may_open_a_viewer(server, public_plot):
    assert "figure" in open_viewer(server, public_plot["id"])


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:1", "null", "http://127.0.0.1.evil.example"]
)
def test_a_page_of_another_origin_is_refused(server, public_plot, origin):
    with pytest.raises(InvalidStatus) as refused:
        open_viewer(server, public_plot["id"], origin=origin)
    assert refused.value.response.status_code == 403


def test_a_host_the_server_does_not_serve_is_refused_even_with_a_matching_origin(server, public_plot):
    with pytest.raises(InvalidStatus):
        open_viewer(server, public_plot["id"], origin="http://evil.example", host="evil.example")


def test_with_every_host_allowed_another_origin_is_still_refused(start_server, integration_db):
    server = start_server(name="any-host", ALLOWED_HOSTS="*")
    user = new_user(integration_db.env, server.url)
    plot = user.make_plot([user.make_token()])
    with pytest.raises(InvalidStatus):
        open_viewer(server, plot["id"], origin="http://evil.example")
    assert "figure" in open_viewer(server, plot["id"], origin="http://plots.example", host="plots.example")
    assert "ALLOWED_HOSTS=* answers any Host header" in server.log_text()


def test_an_origin_listed_in_csrf_trusted_origins_may_open_a_viewer(start_server, integration_db):
    server = start_server(name="trusted-origin", CSRF_TRUSTED_ORIGINS="https://dashboards.example")
    user = new_user(integration_db.env, server.url)
    plot = user.make_plot([user.make_token()])
    assert "figure" in open_viewer(server, plot["id"], origin="https://dashboards.example")
    with pytest.raises(InvalidStatus):
        open_viewer(server, plot["id"], origin="http://dashboards.example")
