"""`Plot.changed()`: an edit bumps the plot's revision in the edit's own transaction, and its
viewers are told only once that transaction commits (never about an edit that rolled back)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from plots.models import Plot, Trace
from streaming.events import plot_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def listening():
    """`listening(plot)` puts a channel in the plot's group, as a process with viewers of it
    has; `listening.received()` is the next message it gets (within 2 s)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()

    def listen(plot: Plot) -> None:
        async_to_sync(layer.group_add)(plot_group(plot.pk), channel)

    def received(timeout: float = 2) -> dict:
        async def receive():
            return await asyncio.wait_for(layer.receive(channel), timeout)

        return async_to_sync(receive)()

    listen.received = received
    return listen


def test_the_revision_grows_inside_the_transaction_and_viewers_hear_on_commit(
    alice, listening, django_capture_on_commit_callbacks
):
    plot = Plot.objects.create(owner=alice)
    listening(plot)
    with django_capture_on_commit_callbacks(execute=False) as on_commit, transaction.atomic():
        plot.changed()
        assert Plot.objects.get(pk=plot.pk).revision == 1
    assert plot.revision == 1
    assert len(on_commit) == 1
    on_commit[0]()
    assert listening.received() == {"type": "plot.changed", "plot": plot.pk}


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
