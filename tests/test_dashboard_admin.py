"""The dashboard admin in process: removing a panel on the change form tells the dashboard's
open sockets (its own group), as set_panels does, so the panel closes there."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from core.models import Plot
from dashboards.events import dashboard_group
from dashboards.models import Dashboard, Panel
from streaming.events import channel_layer

pytestmark = pytest.mark.django_db


def change_form(dashboard: Dashboard, delete: set[int]) -> dict[str, object]:
    panels = list(dashboard.panels.all())
    data: dict[str, object] = {
        "owner": dashboard.owner_id,
        "title": dashboard.title,
        "sharing": dashboard.sharing,
        "folder": "",
        "plotly_content": "null",
        "created_0": dashboard.created.strftime("%Y-%m-%d"),
        "created_1": dashboard.created.strftime("%H:%M:%S"),
        "panels-TOTAL_FORMS": str(len(panels)),
        "panels-INITIAL_FORMS": str(len(panels)),
        "panels-MIN_NUM_FORMS": "0",
        "panels-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, panel in enumerate(panels):
        fields = {"id": panel.pk, "dashboard": dashboard.pk, "plot": panel.plot_id, "title": ""}
        fields |= {"x": panel.x, "y": panel.y, "w": panel.w, "h": panel.h, "order": panel.order}
        data |= {f"panels-{n}-{name}": value for name, value in fields.items()}
        if panel.plot_id in delete:
            data[f"panels-{n}-DELETE"] = "on"
    return data


def test_removing_a_panel_in_the_admin_tells_the_dashboards_open_sockets(
    admin_client, alice, django_capture_on_commit_callbacks
):
    kept, removed = Plot.objects.create(owner=alice), Plot.objects.create(owner=alice)
    dashboard = Dashboard.objects.create(owner=alice, title="rig")
    for order, plot in enumerate([kept, removed]):
        Panel.objects.create(dashboard=dashboard, plot=plot, x=6 * order, y=0, w=6, h=4, order=order)
    layer = channel_layer()
    group = dashboard_group(dashboard.pk)

    def save_the_form():
        with django_capture_on_commit_callbacks(execute=True):
            return admin_client.post(
                f"/admin/dashboards/dashboard/{dashboard.pk}/change/", change_form(dashboard, {removed.pk})
            )

    async def listen_while_saving():
        # One event loop for the channel, as a socket has (Redis's pub/sub layer needs it).
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            answer = await sync_to_async(save_the_form)()
            return answer, await asyncio.wait_for(layer.receive(channel), 10)
        finally:
            await layer.group_discard(group, channel)

    answer, told = async_to_sync(listen_while_saving)()
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert list(dashboard.panels.values_list("plot_id", flat=True)) == [kept.pk]
    assert told == {"type": "dashboard.changed", "dashboard": dashboard.pk}
