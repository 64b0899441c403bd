"""The dashboard socket, in process: its plots join the process's relay as any viewer does (one
subscription per plot, however many plot pages and dashboards show it), each frame encoded once
and tagged with its plot once for every dashboard showing it, and a resync asked for one plot
answers for that plot alone."""

from __future__ import annotations

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.models import Plot
from dashboards import socket
from dashboards.layout import PanelSpec
from dashboards.models import Dashboard
from streaming import events
from streaming.relay import get_relay
from tests.asgi_clients import Viewer, open_viewer

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30  # a deadline for a loaded machine, never a bound on how fast a message comes


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """The sockets read the database on worker threads: close their connections after each test."""
    yield
    await sync_to_async(connections.close_all)()


def update(token_id: int, seq: int, x: int) -> dict:
    return {"stream": token_id, "seq": seq, "traces": {"0": {"extend": {"x": [x], "y": [x]}}}}


@pytest.fixture
def wall(alices_plot):
    """A public dashboard of alice's showing her streamed plot and another, private, plot of hers."""
    other = Plot.objects.create(owner=alices_plot.owner, sharing=Plot.PRIVATE)
    dashboard = Dashboard.objects.create(owner=alices_plot.owner, sharing=Dashboard.PUBLIC)
    dashboard.set_panels([PanelSpec(alices_plot.pk, 0, 0, 6, 4), PanelSpec(other.pk, 6, 0, 6, 4)])
    return dashboard, alices_plot, other


async def test_a_dashboard_and_a_plot_page_share_the_plots_one_subscription_and_its_encoded_frame(wall):
    dashboard, plot, other = wall
    page = await open_viewer(plot.pk)
    assert (await page.receive_json_from(timeout=WAIT))["type"] == "snapshot"
    board = Viewer(f"/ws/dashboards/{dashboard.pk}/")
    assert await board.connect()
    snapshots = [await board.receive_json_from(timeout=WAIT) for _ in range(2)]
    assert sorted(m["plot_id"] for m in snapshots) == sorted([plot.pk, other.pk])
    relay = await get_relay()
    assert relay.subscriptions == {plot.pk, other.pk}
    assert len(relay.viewers[plot.pk]) == 2

    await events.publish_updates(plot.pk, [update(plot.token.pk, 1, 10)])
    on_page = (await page.receive_output(timeout=WAIT))["text"]
    on_board = (await board.receive_output(timeout=WAIT))["text"]
    # The page's frame as the relay encoded it, with the plot in front: not encoded again.
    assert on_board == f'{{"plot_id":{plot.pk},' + on_page[1:]
    assert orjson.loads(on_board)["updates"][0]["seq"] == 1

    await board.send_json_to({"type": "resync", "plot_id": other.pk})
    again = await board.receive_json_from(timeout=WAIT)
    assert (again["plot_id"], again["type"]) == (other.pk, "snapshot")
    assert await page.receive_nothing(timeout=0.2)

    await board.disconnect()
    assert relay.subscriptions == {plot.pk}
    await page.disconnect()
    assert relay.subscriptions == set()


async def test_two_dashboards_of_one_plot_send_one_tagged_text_built_once_per_frame(wall):
    dashboard, plot, _ = wall
    second = await sync_to_async(Dashboard.objects.create)(owner=plot.owner, sharing=Dashboard.PUBLIC)
    await sync_to_async(second.set_panels)([PanelSpec(plot.pk, 0, 0, 6, 4)])
    boards = [Viewer(f"/ws/dashboards/{dashboard.pk}/"), Viewer(f"/ws/dashboards/{second.pk}/")]
    for board, panels in zip(boards, (2, 1), strict=True):
        assert await board.connect()
        for _ in range(panels):
            assert (await board.receive_json_from(timeout=WAIT))["type"] == "snapshot"

    await events.publish_updates(plot.pk, [update(plot.token.pk, 1, 10)])
    first, again = [(await board.receive_output(timeout=WAIT))["text"] for board in boards]
    assert orjson.loads(first)["plot_id"] == plot.pk and orjson.loads(first)["updates"][0]["seq"] == 1
    assert first is again  # the same text: tagged once, not once per dashboard

    for board in boards:
        await board.disconnect()
    assert plot.pk not in socket.TAGGED.latest and plot.pk not in socket.TAGGED.panels


async def test_a_dashboard_edit_closes_its_removed_panel_and_re_reads_nothing_for_anyone(wall):
    dashboard, plot, other = wall
    page = await open_viewer(plot.pk)
    assert (await page.receive_json_from(timeout=WAIT))["type"] == "snapshot"
    elsewhere = await sync_to_async(Dashboard.objects.create)(owner=plot.owner, sharing=Dashboard.PUBLIC)
    await sync_to_async(elsewhere.set_panels)([PanelSpec(plot.pk, 0, 0, 6, 4), PanelSpec(other.pk, 6, 0, 6, 4)])
    boards = [Viewer(f"/ws/dashboards/{dashboard.pk}/"), Viewer(f"/ws/dashboards/{elsewhere.pk}/")]
    for board in boards:
        assert await board.connect()
        snapshots = [await board.receive_json_from(timeout=WAIT) for _ in range(2)]
        assert sorted(m["plot_id"] for m in snapshots) == sorted([plot.pk, other.pk])

    await sync_to_async(dashboard.set_panels)([PanelSpec(plot.pk, 0, 0, 6, 4)])
    closed = await boards[0].receive_json_from(timeout=WAIT)
    assert (closed["plot_id"], closed["type"], closed["status"]) == (other.pk, "error", 404)
    # Nobody else re-reads: not the plot's page, not another dashboard, not the panel that stays.
    for viewer in (page, boards[1], boards[0]):
        assert await viewer.receive_nothing(timeout=0.5)
    await events.publish_updates(plot.pk, [update(plot.token.pk, 1, 10)])
    for board in boards:
        assert orjson.loads((await board.receive_output(timeout=WAIT))["text"])["updates"][0]["seq"] == 1

    for viewer in (*boards, page):
        await viewer.disconnect()
