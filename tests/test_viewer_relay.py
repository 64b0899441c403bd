"""The viewer relay, in process: one subscription per watched plot, each batch encoded once, and
every viewer given each update exactly once, in order, even when live updates are published
before the database holds them."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.models import Plot
from streaming import events
from streaming.relay import get_relay
from tests.asgi_clients import Viewer, open_viewer
from tests.writers import commit_lines, open_writer

pytestmark = pytest.mark.django_db(transaction=True)

# How long a test waits for a message it expects: a deadline for a loaded machine (a snapshot is
# read on a worker thread), never a bound on how fast it comes.
WAIT = 30


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """The viewer reads the database on a worker thread: close its connection after each test."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def plot(alices_plot):
    return alices_plot


def update(token_id: int, seq: int, x: int) -> dict:
    return {"stream": token_id, "seq": seq, "traces": {"0": {"extend": {"x": [x], "y": [x]}}}}


async def commit(token, *lines: bytes) -> dict[int, list]:
    """Accept the lines as the token's writer would, and store them in one commit; return what
    that writer published, by plot."""

    def accept_and_store() -> dict[int, list]:
        published = defaultdict(list)
        for plot_id, update in commit_lines(open_writer(token), *lines):
            published[plot_id].append(update)
        return published

    return await sync_to_async(accept_and_store)()


async def received_seqs(viewer: Viewer, until: int) -> list[int]:
    """Every seq the viewer is sent, in order, until it holds `until` (snapshots are refused)."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < until:
        message = await viewer.receive_json_from(timeout=WAIT)
        assert message["type"] == "updates", message
        seqs.extend(u["seq"] for u in message["updates"])
    return seqs


async def test_viewers_of_a_plot_share_one_subscription_and_one_encoded_frame(plot):
    viewers = [await open_viewer(plot.pk) for _ in range(3)]
    for viewer in viewers:
        assert (await viewer.receive_json_from(timeout=WAIT))["type"] == "snapshot"
    relay = await get_relay()
    assert relay.subscriptions == {plot.pk}
    assert len(relay.viewers[plot.pk]) == 3

    await events.publish_updates(plot.pk, [update(plot.token.pk, 1, 10), update(plot.token.pk, 2, 11)])
    frames = [await viewer.receive_output(timeout=WAIT) for viewer in viewers]
    assert all(frame["type"] == "websocket.send" for frame in frames)
    # The same text object: encoded once, handed to every viewer as it is.
    assert all(frame["text"] is frames[0]["text"] for frame in frames)
    assert '"seq":2' in frames[0]["text"]

    for viewer in viewers:
        await viewer.disconnect()
    assert relay.subscriptions == set()
    assert plot.pk not in relay.viewers


async def test_a_snapshot_behind_the_live_updates_is_completed_from_the_database(plot, settings):
    settings.VIEWER_GAP_TIMEOUT = 10
    viewer = await open_viewer(plot.pk)
    assert (await viewer.receive_json_from(timeout=WAIT))["streams"][str(plot.token.pk)]["seq"] == 0

    # Updates 1 and 2 are published; only 2 reaches this process, and the commit comes later.
    await events.publish_updates(plot.pk, [update(plot.token.pk, 2, 1)])
    assert await viewer.receive_nothing(timeout=0.3)
    published = await commit(plot.token, b'{"x": 0, "y": 0}', b'{"x": 1, "y": 1}')
    assert [u["seq"] for u in published[plot.pk]] == [1, 2]
    # Nothing else is published: the viewer itself asks the database again until 1 is there.
    assert await received_seqs(viewer, until=2) == [1, 2]
    await events.publish_updates(plot.pk, [update(plot.token.pk, 3, 2)])
    assert await received_seqs(viewer, until=3) == [3]
    assert await viewer.receive_nothing(timeout=0.2)
    await viewer.disconnect()


async def test_a_gap_the_database_never_fills_ends_in_a_resync_snapshot_not_a_hole(plot, settings):
    settings.VIEWER_GAP_TIMEOUT = 0.3
    viewer = await open_viewer(plot.pk)
    await viewer.receive_json_from(timeout=WAIT)
    await events.publish_updates(plot.pk, [update(plot.token.pk, 1, 0)])
    assert await received_seqs(viewer, until=1) == [1]

    # Update 2 was lost with a writer that crashed: 3 and 4 can never follow what is stored.
    await events.publish_updates(plot.pk, [update(plot.token.pk, 3, 2), update(plot.token.pk, 4, 3)])
    message = await viewer.receive_json_from(timeout=WAIT)
    assert message["type"] == "snapshot" and message["resync"] is True
    assert await viewer.receive_nothing(timeout=0.2)
    await viewer.disconnect()


async def test_an_update_already_in_the_snapshot_is_not_sent_again(plot):
    await commit(plot.token, b'{"x": 0, "y": 0}', b'{"x": 1, "y": 1}')
    viewer = await open_viewer(plot.pk)
    snapshot = await viewer.receive_json_from(timeout=WAIT)
    assert snapshot["streams"][str(plot.token.pk)]["seq"] == 2 and snapshot["figure"]["data"][0]["x"] == [0, 1]
    await events.publish_updates(plot.pk, [update(plot.token.pk, 2, 1), update(plot.token.pk, 3, 2)])
    message = await viewer.receive_json_from(timeout=WAIT)
    assert [u["seq"] for u in message["updates"]] == [3]
    await viewer.disconnect()


async def test_presence_goes_only_to_viewers_who_asked_for_it(plot):
    plain = await open_viewer(plot.pk)
    present = await open_viewer(plot.pk, "?presence=1")
    for viewer in (plain, present):
        await viewer.receive_json_from(timeout=WAIT)
    await events.publish_stream_state([plot.pk], plot.token.pk, connected=False, seq=0)
    assert await present.receive_json_from(timeout=WAIT) == {
        "type": "stream",
        "stream": plot.token.pk,
        "connected": False,
        "seq": 0,
    }
    assert await plain.receive_nothing(timeout=0.3)
    for viewer in (plain, present):
        await viewer.disconnect()


async def test_resync_requests_get_at_most_one_snapshot_per_interval(plot, settings):
    settings.VIEWER_RESYNC_INTERVAL = 0.5
    viewer = await open_viewer(plot.pk)
    await viewer.receive_json_from(timeout=WAIT)
    for _ in range(50):
        await viewer.send_json_to({"type": "resync"})
    assert (await viewer.receive_json_from(timeout=WAIT))["type"] == "snapshot"
    # The other 49 are answered together, once the interval is over.
    assert (await viewer.receive_json_from(timeout=WAIT))["type"] == "snapshot"
    assert await viewer.receive_nothing(timeout=0.8)
    await viewer.disconnect()


async def test_a_plot_made_private_closes_its_anonymous_viewers_with_4404(plot):
    viewer = await open_viewer(plot.pk)
    await viewer.receive_json_from(timeout=WAIT)
    await sync_to_async(Plot.objects.filter(pk=plot.pk).update)(sharing=Plot.PRIVATE)
    await sync_to_async(Plot.objects.filter(pk=plot.pk).changed)()
    assert (await viewer.receive_json_from(timeout=WAIT))["status"] == 404
    assert (await viewer.receive_output(timeout=WAIT)) == {"type": "websocket.close", "code": 4404}


async def hand_on_at_once(plot, count: int) -> None:
    """Hand the relay `count` updates of the plot's stream, in batches of 20, without a pause."""
    relay = await get_relay()
    for start in range(0, count, 20):
        batch = [update(plot.token.pk, seq, seq - 1) for seq in range(start + 1, start + 21)]
        relay.dispatch({"type": "plot.updates", "plot": plot.pk, "updates": batch})


async def test_a_viewer_whose_queue_overflows_gets_what_fit_then_a_resync_snapshot(plot, settings):
    settings.VIEWER_SEND_QUEUE_BYTES = 2048
    viewer = await open_viewer(plot.pk)
    await viewer.receive_json_from(timeout=WAIT)
    # Ten batches handed on before its socket can take any: far more than 2 KB.
    await hand_on_at_once(plot, 200)
    messages = []
    while not messages or messages[-1]["type"] != "snapshot":
        messages.append(await viewer.receive_json_from(timeout=WAIT))
    assert messages[-1]["resync"] is True
    sent = [u["seq"] for m in messages[:-1] for u in m["updates"]]
    assert sent == list(range(1, len(sent) + 1)) and len(sent) < 200
    await viewer.disconnect()


async def test_a_viewer_that_fell_behind_is_sent_a_snapshot_holding_every_update_it_lost(plot, settings):
    settings.VIEWER_SEND_QUEUE_BYTES = 2048
    settings.VIEWER_GAP_TIMEOUT = 30
    viewer = await open_viewer(plot.pk)
    await viewer.receive_json_from(timeout=WAIT)
    # Updates are published before their commit: these 100 are not in the database yet, and
    # they are the stream's last, so no later update would show this viewer what it lost.
    await hand_on_at_once(plot, 100)
    while await viewer.receive_nothing(timeout=0.5) is False:
        message = await viewer.receive_json_from(timeout=WAIT)
        assert message["type"] == "updates", "a snapshot from before the commit would leave it behind for good"
    await commit(plot.token, *(f'{{"x": {x}, "y": {x}}}'.encode() for x in range(100)))
    message = await viewer.receive_json_from(timeout=WAIT)
    assert message["type"] == "snapshot" and message["resync"] is True
    assert message["streams"][str(plot.token.pk)]["seq"] == 100
    assert message["figure"]["data"][0]["x"][-1] == 99
    await viewer.disconnect()


async def test_viewers_of_other_plots_in_the_same_process_are_not_disturbed(plot, alice):
    other = await sync_to_async(Plot.objects.create)(owner=alice, sharing=Plot.PUBLIC)
    a = await open_viewer(plot.pk)
    b = await open_viewer(other.pk)
    for viewer in (a, b):
        await viewer.receive_json_from(timeout=WAIT)
    await events.publish_updates(plot.pk, [update(plot.token.pk, 1, 0)])
    assert [u["seq"] for u in (await a.receive_json_from(timeout=WAIT))["updates"]] == [1]
    assert await b.receive_nothing(timeout=0.3)
    await asyncio.gather(a.disconnect(), b.disconnect())
