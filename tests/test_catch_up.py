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


def stream_with_one_trace(owner, maxpoints: int, spec: dict | None = None):
    plot = Plot.objects.create(owner=owner)
    token = StreamToken.objects.create(owner=owner)
    Trace.objects.create(plot=plot, index=0, spec=spec or {"x": [], "y": []}, stream_token=token, maxpoints=maxpoints)
    return plot, token


def position_of(plot) -> dict:
    first = snapshot(plot.pk, AnonymousUser(), None)
    return {"revision": first["revision"], "streams": {k: v["seq"] for k, v in first["streams"].items()}}


def test_kept_updates_are_bounded_by_the_values_they_carry(alice):
    from streaming.models import RecentUpdates

    plot, token = stream_with_one_trace(alice, maxpoints=5)  # keeps 4 x 5 = 20 values
    for i in range(300):
        commit_batch([StreamBatch(token.pk, updates=[parse_line(b'{"x": %d, "y": %d}' % (i, i))])])
    assert sum(RecentUpdates.objects.filter(token=token).values_list("size", flat=True)) <= 20
    position = position_of(plot)
    for i in range(3):
        commit_batch([StreamBatch(token.pk, updates=[parse_line(b'{"x": %d, "y": 0}' % i)])])
    assert [u["seq"] for u in catch_up(plot.pk, AnonymousUser(), None, position)["updates"]] == [301, 302, 303]


def test_updates_larger_than_a_snapshot_are_not_kept_and_a_returning_viewer_resyncs(alice):
    from streaming.models import RecentUpdates

    plot, token = stream_with_one_trace(alice, maxpoints=10, spec={"type": "heatmap", "z": []})
    position = position_of(plot)
    grid = b"[%s]" % b",".join([b"[%s]" % b",".join([b"1"] * 10)] * 10)
    commit_batch([StreamBatch(token.pk, updates=[parse_line(b'{"z": %s}' % grid)])])
    assert not RecentUpdates.objects.filter(token=token).exists()
    message = catch_up(plot.pk, AnonymousUser(), None, position)
    assert message["type"] == "snapshot" and message["resync"] is True
    assert len(message["figure"]["data"][0]["z"]) == 10
