"""Who may watch a plot: the page, its WebSocket, the figure endpoint and the embed agree."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.producer import RawStream

pytestmark = pytest.mark.browser

LIVE = "() => document.getElementById('status')?.dataset.state === 'live'"


def without_query(url: str) -> str:
    return url.split("?", 1)[0]


def socket_admits(server, plot_id: int, query: str = "") -> bool:
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot_id}/{query}") as socket:
        try:
            return json.loads(socket.recv(timeout=5))["type"] == "snapshot"
        except ConnectionClosed:
            return False


@contextmanager
def another_site(html: str):
    """An HTTP server of its own on another port: a page of another origin that embeds ours."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_port}/dashboard"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_secret_link_works_and_the_same_url_without_its_key_does_not(server, producer, visitor, page):
    token = producer.make_token()
    plot = producer.make_plot([token], sharing="secret", title="Secret")
    key = plot["share_key"]
    assert plot["web_url"].endswith(f"?share_key={key}")

    page.goto(plot["web_url"])
    page.wait_for_function(LIVE)
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 1})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 1")

    assert page.goto(without_query(plot["web_url"])).status == 404
    assert page.goto(f"{without_query(plot['web_url'])}?share_key=not-{key}").status == 404
    assert socket_admits(server, plot["id"], f"?share_key={key}")
    assert not socket_admits(server, plot["id"])
    assert visitor.get(f"/api/plots/{plot['id']}/figure/?share_key={key}")[0] == 200
    assert visitor.get(f"/api/plots/{plot['id']}/figure/")[0] == 404
    assert stream.end().status == 200


def test_a_private_plot_is_for_its_owner_only(server, member, page):
    plot = member.api.make_plot([], sharing="private", title="Mine")
    path = urlsplit(plot["web_url"]).path
    for refused in (path, f"{path}?share_key={plot.get('share_key')}", plot["embed_url"], f"{path[:-1]}.json"):
        assert page.goto(refused if refused.startswith("http") else server.url + refused).status == 404
    assert not socket_admits(server, plot["id"])

    member.log_in(page, server.url)
    assert page.goto(plot["web_url"]).status == 200
    page.wait_for_function(LIVE)
    assert page.locator("#embed-snippet").count() == 0  # a private plot has nothing to embed


def test_a_public_plot_is_for_anyone(server, producer, page):
    plot = producer.make_plot([], title="Open")
    assert page.goto(plot["web_url"]).status == 200
    page.wait_for_function(LIVE)
    assert socket_admits(server, plot["id"])


def test_the_embed_snippet_renders_the_live_plot_in_an_iframe(server, producer, page, artifacts):
    token = producer.make_token()
    plot = producer.make_plot([token], sharing="secret", title="Embedded")
    page.goto(plot["web_url"])
    snippet = page.locator("#embed-snippet").input_value()
    assert snippet.startswith("<iframe ") and f"share_key={plot['share_key']}" in snippet
    assert ".embed" in snippet

    # A page of another site (another origin), holding nothing but the snippet.
    with another_site(f"<!doctype html><h1>Someone's dashboard</h1>{snippet}") as url:
        page.goto(url)
        frame = page.frame_locator("iframe")
        frame.locator("#status[data-state=live]").wait_for()
        embedded = page.frame(url=lambda url: ".embed" in url)
        stream = RawStream(server.port, token).open()
        for i in range(5):
            stream.write({"x": i, "y": i * i})
        embedded.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 5")
        assert frame.locator(".scatterlayer .trace").count() == 1
        assert frame.locator("header").count() == 0  # chrome-less
        page.screenshot(path=str(artifacts / "embed.png"))
    assert stream.end().status == 200


def test_an_embed_without_the_key_of_a_secret_plot_is_refused(server, producer, page):
    plot = producer.make_plot([], sharing="secret")
    assert page.goto(without_query(plot["embed_url"])).status == 404
    assert page.goto(plot["embed_url"]).status == 200
