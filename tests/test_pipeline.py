"""The ingest pipeline in process: updates are numbered in memory, sent to viewers before they
are stored, stored back to back, and an edit made while a stream writes is kept."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser

from core.models import StreamToken, Trace, TraceCheckpoint
from core.models.windows import traces_with_windows
from core.protocol import parse_line
from streaming import committer, events
from streaming.leases import SEQ_SKIP
from streaming.snapshots import catch_up, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


async def viewer_of(plot) -> str:
    """A channel in the plot's group, as a viewer's would be."""
    layer = get_channel_layer()
    channel = await layer.new_channel("test-viewer.")
    await layer.group_add(events.plot_group(plot.pk), channel)
    return channel


def points(n: int, start: int = 0) -> list:
    return [parse_line(b'{"x": %d, "y": %d}' % (i, i)) for i in range(start, start + n)]


def window_of(plot) -> list:
    return traces_with_windows(Trace.objects.filter(plot=plot))[0].spec["x"]


async def test_updates_are_numbered_from_the_stored_position(stream, pipeline):
    plot, token = stream
    await sync_to_async(StreamToken.objects.filter(pk=token.pk).update)(last_seq=41)
    channel = await viewer_of(plot)
    writer = await pipeline.open_writer(token.pk)
    for update in points(3):
        pipeline.submit(writer, update)
    message = await asyncio.wait_for(get_channel_layer().receive(channel), 10)
    assert [u["seq"] for u in message["updates"]] == [42, 43, 44]


async def test_a_chunk_of_lines_reaches_viewers_as_one_message_before_it_is_stored(stream, pipeline):
    plot, token = stream
    channel = await viewer_of(plot)
    writer = await pipeline.open_writer(token.pk)
    held = threading.Event()
    blocked = asyncio.ensure_future(pipeline.run_sync(held.wait, 30))  # the database thread is busy
    try:
        for update in points(10):
            committed = pipeline.submit(writer, update)
        message = await asyncio.wait_for(get_channel_layer().receive(channel), 10)
        assert [u["traces"]["0"]["extend"]["x"] for u in message["updates"]] == [[i] for i in range(10)]
        assert not committed.done()
        assert await sync_to_async(window_of)(plot) == []  # sent, not stored yet
    finally:
        held.set()
        await blocked
    await committed
    assert await sync_to_async(window_of)(plot) == list(range(10))


async def test_commits_follow_each_other_without_an_interval(stream, pipeline):
    plot, token = stream
    writer = await pipeline.open_writer(token.pk)
    for round_ in range(20):
        await pipeline.submit(writer, points(1, round_)[0])
    assert await sync_to_async(window_of)(plot) == list(range(20))
    await token.arefresh_from_db()
    assert (token.last_seq, token.accepted) == (20, 20)


async def test_a_writer_after_a_crash_numbers_past_anything_the_crashed_one_sent(stream, pipeline):
    plot, token = stream
    crashed = await pipeline.open_writer(token.pk)
    await pipeline.submit(crashed, points(1)[0])
    sent = [message for update in points(5, 1) for _, message in crashed.accept(update)]  # sent, never stored
    position = {"revision": 0, "streams": {str(token.pk): sent[-1]["seq"]}}

    answer = await sync_to_async(catch_up)(plot.pk, AnonymousUser(), None, position)
    assert answer["type"] == "snapshot" and answer["resync"] is True
    assert answer["figure"]["data"][0]["x"] == [0]

    writer = await pipeline.open_writer(token.pk, skip=True)
    await pipeline.submit(writer, points(1, 100)[0])
    assert writer.seq == 1 + SEQ_SKIP + 1 > sent[-1]["seq"]
    assert await sync_to_async(window_of)(plot) == [0, 100]


async def test_an_edit_of_the_plot_while_streaming_is_kept_and_no_point_is_lost(stream, pipeline, as_alice):
    plot, token = stream
    writer = await pipeline.open_writer(token.pk)
    for update in points(3):
        committed = pipeline.submit(writer, update)
    await committed
    edited = await sync_to_async(as_alice.patch)(f"/api/plots/{plot.pk}/", {"title": "renamed"}, format="json")
    assert edited.status_code == 200
    for update in points(3, 3):
        committed = pipeline.submit(writer, update)
    await committed
    await pipeline.submit(writer, points(1, 6)[0])  # the writer has reloaded by now

    await plot.arefresh_from_db()
    assert plot.title == "renamed" and plot.revision == 1
    assert await sync_to_async(window_of)(plot) == list(range(7))


async def test_a_trace_rewritten_while_streaming_keeps_the_rewrite_and_later_points(stream, pipeline, as_alice):
    plot, token = stream
    writer = await pipeline.open_writer(token.pk)
    await pipeline.submit(writer, points(1)[0])
    await pipeline.close_writer(writer)  # a checkpoint, as every few seconds
    writer = await pipeline.open_writer(token.pk)
    rewrite = {"spec": {"x": [-2, -1], "y": [0, 0], "name": "rewritten"}}
    edited = await sync_to_async(as_alice.patch)(f"/api/plots/{plot.pk}/traces/0/", rewrite, format="json")
    assert edited.status_code == 200, edited.content
    await pipeline.submit(writer, points(1, 5)[0])
    await pipeline.submit(writer, points(1, 6)[0])

    (trace,) = await sync_to_async(traces_with_windows)(Trace.objects.filter(plot=plot))
    assert (trace.spec["name"], trace.spec["x"]) == ("rewritten", [-2, -1, 5, 6])


@pytest.mark.parametrize(("maxpoints", "values"), [(500, 8000), (10000, 40000)])
async def test_a_fast_stream_is_checkpointed_once_its_rows_hold_four_windows_of_values_and_at_least_the_minimum(
    stream, pipeline, maxpoints, values, monkeypatch
):
    monkeypatch.setattr(committer, "CHECKPOINT_ROWS", 10**6)
    monkeypatch.setattr(committer, "CHECKPOINT_INTERVAL", 3600)
    plot, token = stream
    await sync_to_async(Trace.objects.filter(plot=plot).update)(maxpoints=maxpoints)
    writer = await pipeline.open_writer(token.pk)
    batch = values // 32  # points of x and y: 16 commits hold exactly `values` values
    sent = 0

    async def commit_batch() -> int:
        for update in points(batch, sent):
            committed = pipeline.submit(writer, update)
        await committed
        checkpoint = await sync_to_async(TraceCheckpoint.objects.filter(trace__plot=plot).first)()
        return checkpoint.seq if checkpoint is not None else 0

    for _ in range(16):
        folded = await commit_batch()
        sent += batch
        assert folded < batch  # not yet: at most the writer's opening
    assert await commit_batch() == sent + batch  # past the threshold: folded up to the newest


@pytest.mark.parametrize("maxpoints", [500, 10000])
async def test_a_window_is_its_checkpoint_plus_the_rows_after_it_and_a_restart_reads_the_same(
    stream, pipeline, maxpoints, monkeypatch
):
    monkeypatch.setattr(committer, "CHECKPOINT_ROWS", 7)  # checkpoints between the commits, not only at the end
    plot, token = stream
    await sync_to_async(Trace.objects.filter(plot=plot).update)(maxpoints=maxpoints)
    writer = await pipeline.open_writer(token.pk)
    total = maxpoints + maxpoints // 2
    for start in range(0, total, 250):
        for update in points(min(250, total - start), start):
            committed = pipeline.submit(writer, update)
        await committed
    expected = list(range(total))[-maxpoints:]
    assert writer.traces[0].spec["x"] == expected  # the writer's memory
    assert await sync_to_async(window_of)(plot) == expected  # checkpoint + rows
    figure = await sync_to_async(snapshot)(plot.pk, AnonymousUser(), None)
    assert figure["figure"]["data"][0]["x"] == expected

    restarted = await pipeline.open_writer(token.pk)  # what a writer reads after a restart
    assert restarted.traces[0].spec["x"] == expected
    assert restarted.seq == total
