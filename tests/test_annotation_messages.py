"""What the live side sends of annotations, in process: one channel-layer message per plot
carrying every annotation a stream's commit stored, and a catch-up that reads the annotations
only for a viewer coming back with `since` (docs/websocket.md)."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser

from core.models import Annotation
from streaming.events import plot_group, publish_annotations
from streaming.snapshots import catch_up, snapshot
from tests.writers import commit_lines, open_writer

WAIT = 10


async def test_a_commits_annotations_reach_a_plot_in_one_message():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(plot_group(987_654), channel)
    try:
        made = [{"id": n, "x": n, "text": f"event {n}"} for n in (1, 2, 3)]
        await publish_annotations(987_654, made)
        message = await asyncio.wait_for(layer.receive(channel), WAIT)
        assert message == {"type": "plot.annotation", "plot": 987_654, "annotations": made}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)
    finally:
        await layer.group_discard(plot_group(987_654), channel)


@pytest.mark.django_db
def test_only_a_catch_up_for_a_returning_viewer_reads_the_annotations(alices_plot):
    first = snapshot(alices_plot.pk, AnonymousUser(), None)
    position = {"revision": first["revision"], "streams": {k: v["seq"] for k, v in first["streams"].items()}}
    commit_lines(open_writer(alices_plot.token), b'{"x": 1, "y": 1, "annotation": {"text": "valve open"}}')
    gap = catch_up(alices_plot.pk, AnonymousUser(), None, position)
    returning = catch_up(alices_plot.pk, AnonymousUser(), None, position, with_annotations=True)
    assert [u["seq"] for u in gap["updates"]] == [1] and "annotations" not in gap
    assert returning["annotations"] == [Annotation.objects.get().as_dict()]
