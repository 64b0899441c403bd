"""catch_up: a returning viewer's updates come in commit order, across the plot's streams."""

import pytest
from django.contrib.auth.models import AnonymousUser

from plots.models import Plot, StreamToken, Trace
from streaming.protocol import parse_line
from streaming.store import StreamBatch, catch_up, commit_batch, snapshot

pytestmark = pytest.mark.django_db


def test_layout_changes_of_two_streams_replay_in_the_order_they_were_stored(alice):
    plot = Plot.objects.create(owner=alice)
    a, b = (StreamToken.objects.create(owner=alice) for _ in range(2))
    Trace.objects.create(plot=plot, index=0, spec={"x": []}, stream_token=a)
    Trace.objects.create(plot=plot, index=1, spec={"x": []}, stream_token=b)
    first = snapshot(plot.pk, AnonymousUser(), None)
    position = {"revision": first["revision"], "streams": {k: v["seq"] for k, v in first["streams"].items()}}

    commit_batch([StreamBatch(b.pk, updates=[parse_line(b'{"x": 1}')])])
    commit_batch([StreamBatch(a.pk, updates=[parse_line(b'{"layout": {"title": "a1"}}')])])
    commit_batch([StreamBatch(b.pk, updates=[parse_line(b'{"layout": {"title": "b1"}}')])])

    replay = catch_up(plot.pk, AnonymousUser(), None, position)
    assert [(u["stream"], u["seq"]) for u in replay["updates"]] == [(b.pk, 1), (a.pk, 1), (b.pk, 2)]
    assert replay["updates"][-1]["layout"] == {"title.text": "b1"}
    plot.refresh_from_db()
    assert plot.layout == {"title": {"text": "b1"}}


def test_a_snapshot_layout_is_never_older_than_its_positions(alice):
    plot = Plot.objects.create(owner=alice, layout={"title": {"text": "old"}})
    token = StreamToken.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={}, stream_token=token)
    commit_batch([StreamBatch(token.pk, updates=[parse_line(b'{"layout": {"title": "new"}}')])])
    message = snapshot(plot.pk, AnonymousUser(), None)
    assert message["streams"][str(token.pk)]["seq"] == 1
    assert message["figure"]["layout"] == {"title": {"text": "new"}}
