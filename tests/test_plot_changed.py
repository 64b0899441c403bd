"""`Plot.changed()`: an edit bumps the plot's revision in the edit's own transaction, and its
viewers are told only once that transaction commits (never about an edit that rolled back)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from core.models import Plot, Trace
from streaming.events import plot_group

pytestmark = pytest.mark.django_db


def announced(plot: Plot, announce) -> dict:
    """What a process with viewers of `plot` receives when `announce()` runs: the first
    message to its plot group (within 2 s). One event loop throughout, as the Redis layer needs."""

    async def listen() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(plot_group(plot.pk), channel)
        await sync_to_async(announce)()
        return await asyncio.wait_for(layer.receive(channel), 2)

    return async_to_sync(listen)()


def test_the_revision_grows_inside_the_transaction_and_viewers_hear_on_commit(
    alice, django_capture_on_commit_callbacks
):
    plot = Plot.objects.create(owner=alice)
    with django_capture_on_commit_callbacks(execute=False) as on_commit, transaction.atomic():
        plot.changed()
        assert Plot.objects.get(pk=plot.pk).revision == 1
    assert plot.revision == 1
    assert len(on_commit) == 1
    assert announced(plot, on_commit[0]) == {"type": "plot.changed", "plot": plot.pk}


def test_an_edit_that_rolls_back_changes_nothing_and_tells_no_one(alice, django_capture_on_commit_callbacks):
    plot = Plot.objects.create(owner=alice)
    with (
        django_capture_on_commit_callbacks(execute=False) as on_commit,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        plot.changed()
        raise RuntimeError("the edit failed")
    assert Plot.objects.get(pk=plot.pk).revision == 0
    assert on_commit == []


def test_editing_a_trace_through_the_api_bumps_the_revision_once(as_alice, alice, django_capture_on_commit_callbacks):
    plot = Plot.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={"x": [1], "y": [2]})
    with django_capture_on_commit_callbacks() as on_commit:
        response = as_alice.patch(f"/api/plots/{plot.pk}/traces/0/", {"maxpoints": 10}, format="json")
    assert response.status_code == 200
    assert Plot.objects.get(pk=plot.pk).revision == 1
    assert len(on_commit) == 1


def test_a_queryset_of_plots_changes_together(alice, django_capture_on_commit_callbacks):
    plots = [Plot.objects.create(owner=alice) for _ in range(3)]
    with django_capture_on_commit_callbacks() as on_commit:
        Plot.objects.filter(pk__in=[p.pk for p in plots[:2]]).changed()
    assert sorted(Plot.objects.values_list("revision", flat=True)) == [0, 1, 1]
    assert len(on_commit) == 2
