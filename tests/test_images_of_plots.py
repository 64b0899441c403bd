"""`/~<user>/<id>.png|.jpeg|.svg|.pdf`: a plot as it stands now, drawn by plotly.js in Chromium,
under the plot's own sharing rule, bounded; against a real server."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request

import pytest

from harness.live_server import Api, LiveServer, new_user, wait_for
from harness.producer import send_lines
from tests.image_requests import post_image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def images_server(integration_db, artifacts):
    """A server whose images may hold 5,000 points, with time to spare for a loaded machine."""
    env = {**integration_db.env, "IMAGE_MAX_POINTS": "5000", "IMAGE_RENDER_TIMEOUT": "60"}
    server = LiveServer(env, artifacts, name="images").start()
    yield server
    server.stop(timeout=30)


@pytest.fixture
def owner(integration_db, images_server) -> Api:
    return new_user(integration_db.env, images_server.url)


def get(url: str, api: Api | None = None) -> tuple[int, dict, bytes]:
    """One GET, read whole: status, headers (lower-case names), body bytes."""
    request = urllib.request.Request(url)
    if api is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{api.username}:{api.key}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def png_size(image: bytes) -> tuple[int, int]:
    assert image[:8] == PNG_SIGNATURE, image[:16]
    return struct.unpack(">II", image[16:24])


def labelled_plot(owner: Api, sharing: str = "public", maxpoints: int = 5) -> tuple[dict, str]:
    """A plot of one streamed trace whose points are drawn with their text labels."""
    token = owner.make_token()
    stream = {"token": token, "maxpoints": maxpoints}
    trace = {"type": "scatter", "mode": "markers+text", "x": [], "y": [], "stream": stream}
    plot = owner.ok("POST", "/api/plots/", {"title": "Labelled", "sharing": sharing, "figure": {"data": [trace]}})
    return plot, token


def image_url(server: LiveServer, owner: Api, plot: dict, extension: str, query: str = "") -> str:
    return f"{server.url}/~{owner.username}/{plot['id']}.{extension}{query}"


def test_the_svg_of_a_live_plot_shows_its_streamed_window_and_annotations(images_server, owner):
    plot, token = labelled_plot(owner)
    status, headers, before = get(image_url(images_server, owner, plot, "svg"))
    assert status == 200 and headers["content-type"] == "image/svg+xml"
    assert b"<svg" in before and b"pt7" not in before

    lines = [{"x": i, "y": i * i, "text": f"pt{i}"} for i in range(8)]
    note = {"text": "note-42", "x": 5, "y": 25, "showarrow": False}
    lines.append({"layout": {"annotations": [note]}})
    assert send_lines(images_server.port, token, lines).status == 200
    wait_for(lambda: owner.figure(plot["id"])["data"][0]["x"] == [3, 4, 5, 6, 7])
    wait_for(lambda: owner.figure(plot["id"])["layout"].get("annotations"))

    status, headers, after = get(image_url(images_server, owner, plot, "svg"))
    assert status == 200
    shown = after.decode()
    assert all(f">pt{i}<" in shown for i in range(3, 8)), "the window's five points, labelled"
    assert not any(f">pt{i}<" in shown for i in range(3)), "points out of the window are not drawn"
    assert ">note-42<" in shown, "the annotation streamed into the layout"
    assert "sandbox" in headers["content-security-policy"]


def test_a_png_has_the_size_asked_times_the_scale(images_server, owner):
    plot, token = labelled_plot(owner)
    assert send_lines(images_server.port, token, [{"x": 1, "y": 2}]).status == 200
    status, headers, image = get(image_url(images_server, owner, plot, "png", "?width=300&height=200&scale=2"))
    assert status == 200 and headers["content-type"] == "image/png"
    assert png_size(image) == (600, 400)
    assert headers["content-disposition"] == f'inline; filename="labelled-{plot["id"]}.png"'
    status, _, image = get(image_url(images_server, owner, plot, "png"))
    assert png_size(image) == (700, 500)


def test_jpeg_and_pdf_come_as_what_they_are(images_server, owner):
    plot, _ = labelled_plot(owner)
    status, headers, image = get(image_url(images_server, owner, plot, "jpeg", "?width=200&height=100"))
    assert (status, headers["content-type"], image[:3]) == (200, "image/jpeg", b"\xff\xd8\xff")
    status, headers, document = get(image_url(images_server, owner, plot, "pdf"))
    assert (status, headers["content-type"], document[:5]) == (200, "application/pdf", b"%PDF-")


def test_a_private_plot_is_drawn_for_its_owner_alone(integration_db, images_server, owner):
    plot, _ = labelled_plot(owner, sharing="private")
    url = image_url(images_server, owner, plot, "png")
    other = new_user(integration_db.env, images_server.url)
    assert get(url)[0] == 404
    status, _, body = get(url, other)
    assert status == 404 and "not shared with you" in json.loads(body)["message"]
    status, _, image = get(url, owner)
    assert status == 200 and image[:8] == PNG_SIGNATURE
    assert get(url, Api(images_server.url, owner.username, "not-the-key"))[0] == 401


def test_a_secret_plot_is_drawn_with_its_share_key(images_server, owner):
    plot, _ = labelled_plot(owner, sharing="secret")
    assert get(image_url(images_server, owner, plot, "svg"))[0] == 404
    assert get(image_url(images_server, owner, plot, "svg", "?share_key=wrong"))[0] == 404
    status, _, image = get(image_url(images_server, owner, plot, "svg", f"?share_key={plot['share_key']}"))
    assert status == 200 and b"<svg" in image


def test_an_unknown_format_or_size_is_a_400_that_says_what_is_accepted(images_server, owner):
    plot, _ = labelled_plot(owner)
    status, _, body = get(image_url(images_server, owner, plot, "gif"))
    assert status == 400 and "format is one of png, jpeg, svg, pdf" in json.loads(body)["message"]
    status, _, body = get(image_url(images_server, owner, plot, "png", "?width=6000"))
    assert status == 400 and "width is a number from 10 to 5000" in json.loads(body)["message"]
    status, _, body = get(image_url(images_server, owner, plot, "png", "?scale=abc"))
    assert status == 400 and "scale is a number" in json.loads(body)["message"]


def test_a_plot_of_more_points_than_images_hold_is_a_413(images_server, owner):
    static = {"type": "scatter", "x": list(range(5001)), "y": list(range(5001))}
    plot = owner.ok("POST", "/api/plots/", {"title": "Big", "sharing": "public", "figure": {"data": [static]}})
    status, _, body = get(image_url(images_server, owner, plot, "png"))
    assert status == 413
    assert "5,001 points" in json.loads(body)["message"] and "IMAGE_MAX_POINTS" in json.loads(body)["message"]
    assert get(f"{images_server.url}/~{owner.username}/{plot['id']}.embed")[0] == 200, "web's routes come first"


def test_a_figure_naming_an_image_by_url_makes_the_server_fetch_nothing(images_server, owner):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        source = f"http://127.0.0.1:{port}/secret.png"
        picture = {"source": source, "xref": "paper", "yref": "paper", "x": 0, "y": 1, "sizex": 1, "sizey": 1}
        figure = {"data": [{"y": [1, 2]}], "layout": {"images": [picture]}}
        status, _, image = post_image(owner, {"figure": figure, "format": "svg"})
        assert status == 200 and image.startswith(b"<svg")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody came
