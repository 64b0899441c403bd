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
from lineproto.writes import SeriesWrite, write_all, write_series

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


async def test_two_writes_of_one_series_at_once_both_land_one_after_the_other(plot, stream_pipeline):
    stream = (await sync_to_async(Series.objects.streams_for)(plot, [key(1)])).streams[key(1)]

    def write(ys: range) -> SeriesWrite:
        return SeriesWrite(stream.token_id, stream.token, [b'{"x": 1, "y": %d}' % y for y in ys], list(ys))

    results = await write_all([write(range(1, 4))], "test") + await asyncio.gather(
        *(write_series(write(range(start, start + 3)), "test") for start in (10, 20))
    )
    assert [r.accepted for r in [results[0].outcome, *results[1:]]] == [3, 3, 3]
    [ys] = await sync_to_async(points)(plot)
    assert sorted(ys) == [1, 2, 3, 10, 11, 12, 20, 21, 22]
    assert ys[:3] == [1, 2, 3] and ys[3:6] in ([10, 11, 12], [20, 21, 22])  # each write whole, in turn


async def test_the_core_rejects_a_line_it_cannot_take_and_keeps_the_others(plot, stream_pipeline):
    stream = (await sync_to_async(Series.objects.streams_for)(plot, [key(1)])).streams[key(1)]
    lines = [b'{"x": 1, "y": 1}', b'{"x": "2026-02-30T05:20Z", "y": 2}', b'{"x": 3, "y": 3}']
    outcome = await write_series(SeriesWrite(stream.token_id, stream.token, lines, [7, 8, 9]), "test")
    assert (outcome.status, outcome.accepted, outcome.rejected) == (200, 2, 1)
    assert outcome.last_error is not None and outcome.last_error[0] == 2
    assert await sync_to_async(points)(plot) == [[1, 3]]
