"""Which stream a series' points go to (lineproto/models.py, lineproto/writes.py), in process:
made on first sight within the bound and the quotas, found again afterwards, and written through
the ingest core one write at a time."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from core.models import Plot, StreamToken, Trace
from core.models.windows import traces_with_windows
from lineproto.models import Series
from lineproto.points import SeriesKey
from lineproto.writes import SeriesWrite, held_series, write_all

pytestmark = pytest.mark.django_db(transaction=True)


def key(n: int) -> SeriesKey:
    return SeriesKey("m", (("n", str(n)),), "v")


@pytest.fixture
def plot(alice):
    return Plot.objects.create(owner=alice)


def test_a_new_series_gets_a_trace_and_a_token_of_its_own(plot):
    streams = Series.objects.streams_for(plot, [key(1), key(2)])
    assert not streams.refused
    traces = list(plot.traces.order_by("index"))
    assert [t.spec for t in traces] == [
        {"type": "scatter", "mode": "lines", "name": "m v n=1"},
        {"type": "scatter", "mode": "lines", "name": "m v n=2"},
    ]
    assert [t.stream_token.token for t in traces] == [streams.streams[key(1)].token, streams.streams[key(2)].token]
    assert traces[0].stream_token.owner == plot.owner
    assert traces[0].stream_token.name == "line protocol: m v n=1"


def test_a_known_series_is_found_again_without_a_change_of_the_plot(plot):
    first = Series.objects.streams_for(plot, [key(1)])
    revision = Plot.objects.get(pk=plot.pk).revision
    again = Series.objects.streams_for(plot, [key(1)])
    assert again.streams == first.streams
    assert Plot.objects.get(pk=plot.pk).revision == revision


def test_past_the_series_bound_a_new_series_is_refused(plot, settings):
    settings.LINEPROTO_MAX_SERIES = 2
    streams = Series.objects.streams_for(plot, [key(1), key(2), key(3)])
    assert set(streams.streams) == {key(1), key(2)}
    assert "LINEPROTO_MAX_SERIES" in streams.refused[key(3)]
    assert Series.objects.streams_for(plot, [key(1)]).streams[key(1)] == streams.streams[key(1)]


def test_past_a_quota_a_new_series_is_refused_with_the_quota_message(plot, settings):
    settings.QUOTA_TOKENS_PER_USER = 1
    streams = Series.objects.streams_for(plot, [key(1), key(2)])
    assert set(streams.streams) == {key(1)}
    assert "QUOTA_TOKENS_PER_USER" in streams.refused[key(2)]
    assert plot.traces.count() == 1


def test_a_revoked_token_is_replaced_and_a_deleted_trace_made_again(plot):
    first = Series.objects.streams_for(plot, [key(1), key(2)]).streams
    StreamToken.objects.get(pk=first[key(1)].token_id).revoke()
    Trace.objects.filter(stream_token_id=first[key(2)].token_id).delete()
    plot.renumber_traces()
    again = Series.objects.streams_for(plot, [key(1), key(2)]).streams
    assert again[key(1)] != first[key(1)] and again[key(2)] != first[key(2)]
    assert sorted(t.spec["name"] for t in plot.traces.all()) == ["m v n=1", "m v n=2"]
    assert sorted(plot.traces.values_list("index", flat=True)) == [0, 1]


def points(plot) -> list:
    return [trace.spec.get("y", []) for trace in traces_with_windows(Trace.objects.filter(plot=plot))]


def lines(*ys: int) -> list[bytes]:
    return [b'{"x": %d, "y": %d}' % (y, y) for y in ys]


@pytest.fixture
async def series(plot):
    """The stream of a series of alice's plot: (token id, token)."""
    stream = (await sync_to_async(Series.objects.streams_for)(plot, [key(1)])).streams[key(1)]
    return stream.token_id, stream.token


async def test_writes_of_one_series_at_once_take_turns_each_whole(plot, series, stream_pipeline):
    [first] = await write_all([SeriesWrite(*series, lines(1, 2, 3), [1, 2, 3])], "test")
    second, third = await asyncio.gather(
        held_series(*series).write(lines(10, 11, 12), "test"), held_series(*series).write(lines(20, 21, 22), "test")
    )
    assert [(o.status, o.accepted, o.taken) for o in (first, second, third)] == [(200, 3, 3)] * 3
    assert await sync_to_async(points)(plot) == [[1, 2, 3, 10, 11, 12, 20, 21, 22]]


async def test_a_series_stream_stays_open_between_writes_and_ends_when_idle(plot, series, stream_pipeline, settings):
    settings.LINEPROTO_SERIES_IDLE = 0.3
    token_id, _ = series
    for y in (1, 2):
        [outcome] = await write_all([SeriesWrite(*series, lines(y), [1])], "test")
        assert outcome.status == 200
    status = await sync_to_async(StreamToken.objects.get)(pk=token_id)
    assert status.is_connected and status.accepted == 2 and status.takeovers == 0

    async def disconnected() -> bool:
        while (await sync_to_async(StreamToken.objects.get)(pk=token_id)).connected:
            await asyncio.sleep(0.05)
        return True

    assert await asyncio.wait_for(disconnected(), 10)
    [outcome] = await write_all([SeriesWrite(*series, lines(3), [1])], "test")  # opens it again
    assert outcome.status == 200
    assert await sync_to_async(points)(plot) == [[1, 2, 3]]


async def test_the_core_rejects_a_line_it_cannot_take_and_keeps_the_others(plot, series, stream_pipeline):
    bad = [b'{"x": 1, "y": 1}', b'{"x": "2026-02-30T05:20Z", "y": 2}', b'{"x": 3, "y": 3}']
    first = await held_series(*series).write(bad, "test")
    second = await held_series(*series).write([b'{"x": 4, "y": 4}', b"{nope"], "test")
    assert (first.status, first.accepted, first.taken) == (200, 2, 3)
    assert [line for line, _ in first.rejected] == [2]
    assert "is not a date" in first.rejected[0][1]
    assert [line for line, _ in second.rejected] == [2]  # numbered within its own write
    assert await sync_to_async(points)(plot) == [[1, 3, 4]]


async def test_a_stream_taken_over_by_a_producer_is_opened_again_by_the_next_write(plot, series, stream_pipeline):
    from tests.asgi_clients import Stream

    assert (await held_series(*series).write(lines(1), "test")).status == 200
    producer = Stream(series[1])
    await producer.write({"x": 2, "y": 2})
    assert (await producer.end())[0] == 200
    assert (await held_series(*series).write(lines(3), "test")).status == 200
    assert await sync_to_async(points)(plot) == [[1, 2, 3]]
