"""catch_up: a returning viewer's updates come in commit order, across the plot's streams."""

import pytest
from django.contrib.auth.models import AnonymousUser

from core.models import Plot, StreamChunk, StreamToken, Trace
from streaming.snapshots import catch_up, history_budget, snapshot
from tests.writers import commit_lines, open_writer

pytestmark = pytest.mark.django_db


def test_layout_changes_of_two_streams_replay_in_the_order_they_were_stored(alice):
    plot = Plot.objects.create(owner=alice)
    a, b = (StreamToken.objects.create(owner=alice) for _ in range(2))
    Trace.objects.create(plot=plot, index=0, spec={"x": []}, stream_token=a)
    Trace.objects.create(plot=plot, index=1, spec={"x": []}, stream_token=b)
    first = snapshot(plot.pk, AnonymousUser(), None)
    position = {"revision": first["revision"], "streams": {k: v["seq"] for k, v in first["streams"].items()}}
    writer_a, writer_b = open_writer(a), open_writer(b)

    commit_lines(writer_b, b'{"x": 1}')
    commit_lines(writer_a, b'{"layout": {"title": "a1"}}')
    commit_lines(writer_b, b'{"layout": {"title": "b1"}}')

    replay = catch_up(plot.pk, AnonymousUser(), None, position)
    assert [(u["stream"], u["seq"]) for u in replay["updates"]] == [(b.pk, 1), (a.pk, 1), (b.pk, 2)]
    assert replay["updates"][-1]["layout"] == {"title.text": "b1"}
    plot.refresh_from_db()
    assert plot.layout == {"title": {"text": "b1"}}


def test_a_snapshot_layout_is_never_older_than_its_positions(alice):
    plot = Plot.objects.create(owner=alice, layout={"title": {"text": "old"}})
    token = StreamToken.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={}, stream_token=token)
    commit_lines(open_writer(token), b'{"layout": {"title": "new"}}')
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


def test_stored_rows_are_bounded_by_the_values_they_carry(alice):
    plot, token = stream_with_one_trace(alice, maxpoints=5)  # catch-up keeps 4 x 5 = 20 values
    writer = open_writer(token)
    for i in range(300):
        commit_lines(writer, b'{"x": %d, "y": %d}' % (i, i), checkpoint=i % 10 == 9)
    # What catch-up needs, plus the rows since the last checkpoint.
    assert sum(StreamChunk.objects.filter(token=token).values_list("values", flat=True)) <= history_budget([5]) + 20
    position = position_of(plot)
    for i in range(3):
        commit_lines(writer, b'{"x": %d, "y": 0}' % i)
    assert [u["seq"] for u in catch_up(plot.pk, AnonymousUser(), None, position)["updates"]] == [301, 302, 303]


def test_updates_larger_than_a_snapshot_are_not_replayed_and_a_returning_viewer_resyncs(alice):
    plot, token = stream_with_one_trace(alice, maxpoints=10, spec={"type": "heatmap", "z": []})
    position = position_of(plot)
    grid = b"[%s]" % b",".join([b"[%s]" % b",".join([b"1"] * 10)] * 10)
    commit_lines(open_writer(token), b'{"z": %s}' % grid)
    message = catch_up(plot.pk, AnonymousUser(), None, position)
    assert message["type"] == "snapshot" and message["resync"] is True
    assert len(message["figure"]["data"][0]["z"]) == 10


def test_a_viewer_ahead_of_what_was_stored_gets_a_snapshot(alice):
    plot, token = stream_with_one_trace(alice, maxpoints=10)
    writer = open_writer(token)
    commit_lines(writer, b'{"x": 1, "y": 1}')
    sent = writer.accept(__import__("core.protocol").protocol.parse_line(b'{"x": 2, "y": 2}'))
    # Seq 2 reached the viewer, then the writer crashed before storing it.
    position = {"revision": plot.revision, "streams": {str(token.pk): sent[0][1]["seq"]}}
    message = catch_up(plot.pk, AnonymousUser(), None, position)
    assert message["type"] == "snapshot" and message["resync"] is True
    assert message["figure"]["data"][0]["x"] == [1]
