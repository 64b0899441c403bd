"""The viewer socket `/ws/plots/<id>/`, in process: who may watch a plot, and what a watcher gets
(a snapshot of the current window, then every update in order). Driven with the messages uvicorn
would hand the application; the same over real sockets is in test_stream_to_viewer.py and
test_viewer_socket_origin.py, and the relay behind it in test_viewer_relay.py.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from core.models import Plot
from tests.asgi_clients import Stream, Viewer, open_viewer
from tests.writers import commit_lines, open_writer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plot(alices_plot):
    """alice's plot of one streamed trace (sharing set by each test)."""
    return alices_plot


def share(plot, sharing: str) -> None:
    Plot.objects.filter(pk=plot.pk).update(sharing=sharing)


def session_cookie(user) -> str:
    """The cookie a browser logged in as `user` sends."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def test_a_viewer_gets_the_current_window_then_each_update_in_order(plot, stream_pipeline):
    await sync_to_async(commit_lines)(await sync_to_async(open_writer)(plot.token), b'{"x": 1, "y": 1}')
    viewer = await open_viewer(plot.pk)
    snapshot = await viewer.receive_json_from()
    assert snapshot["type"] == "snapshot"
    assert snapshot["figure"]["data"][0]["x"] == [1]
    assert "stream" not in snapshot["figure"]["data"][0]  # tokens are never shown to viewers
    seen = snapshot["streams"][str(plot.token.pk)]["seq"]

    stream = Stream(plot.token.token)
    for x in (2, 3, 4):
        await stream.write({"x": x, "y": x})
    updates = []
    while len(updates) < 3:
        message = await viewer.receive_json_from()
        assert message["type"] == "updates", message
        updates.extend(message["updates"])
    assert [u["seq"] for u in updates] == [seen + 1, seen + 2, seen + 3]
    assert [u["traces"]["0"]["extend"]["x"] for u in updates] == [[2], [3], [4]]
    await stream.end()
    await viewer.disconnect()


async def test_an_anonymous_viewer_of_a_private_plot_is_told_404_and_closed_with_4404(plot):
    await sync_to_async(share)(plot, Plot.PRIVATE)
    viewer = await open_viewer(plot.pk)
    assert await viewer.receive_json_from() == {
        "type": "error",
        "status": 404,
        "message": "no such plot, or not shared with you",
    }
    assert await viewer.receive_output(5) == {"type": "websocket.close", "code": 4404}


async def test_a_viewer_of_a_plot_that_does_not_exist_is_closed_with_4404(plot):
    viewer = await open_viewer(plot.pk + 1000)
    assert (await viewer.receive_json_from())["status"] == 404
    assert await viewer.receive_output(5) == {"type": "websocket.close", "code": 4404}


async def test_the_owner_logged_in_watches_a_private_plot(plot, alice):
    await sync_to_async(share)(plot, Plot.PRIVATE)
    viewer = await open_viewer(plot.pk, cookie=await sync_to_async(session_cookie)(alice))
    assert (await viewer.receive_json_from())["type"] == "snapshot"
    await viewer.disconnect()


async def test_another_user_logged_in_is_refused_a_private_plot(plot, bob):
    await sync_to_async(share)(plot, Plot.PRIVATE)
    viewer = await open_viewer(plot.pk, cookie=await sync_to_async(session_cookie)(bob))
    assert (await viewer.receive_json_from())["status"] == 404
    assert await viewer.receive_output(5) == {"type": "websocket.close", "code": 4404}


async def test_a_secret_plot_is_watched_with_its_share_key_and_refused_without(plot):
    await sync_to_async(share)(plot, Plot.SECRET)
    share_key = (await sync_to_async(Plot.objects.get)(pk=plot.pk)).share_key
    with_key = await open_viewer(plot.pk, f"?share_key={share_key}")
    assert (await with_key.receive_json_from())["type"] == "snapshot"
    await with_key.disconnect()

    for query in ("", "?share_key=wrong"):
        without = await open_viewer(plot.pk, query)
        assert (await without.receive_json_from())["status"] == 404


async def test_a_socket_opened_from_another_sites_page_is_refused_before_it_is_accepted(plot):
    viewer = Viewer(f"/ws/plots/{plot.pk}/", origin="http://evil.example")
    assert not await viewer.connect()
