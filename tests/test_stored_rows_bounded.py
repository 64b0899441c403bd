"""A commit stores a fast stream's updates as rows of at most ROW_MAX_UPDATES updates each, so
that a history reader's page of rows holds a bounded number of points however many updates one
commit took (history/range_reads.py pages by updates)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.protocol import parse_line
from streaming.stream_state import LiveTrace, StreamWriter, WriterView


def committed_chunk(updates: int):
    traces = [LiveTrace(1, 7, 0, 500, {"x": [], "y": []}), LiveTrace(2, 8, 0, 500, {"x": [], "y": []})]
    writer = StreamWriter(1, 0, WriterView(traces, {7: 3, 8: 5}, (), {7: {}, 8: {}}))
    for i in range(updates):
        writer.accept(parse_line(b'{"x": %d, "y": %d}' % (i, i)))
    chunk = writer.take_chunk(datetime.now(UTC))
    assert chunk is not None
    return chunk


def test_a_chunk_of_many_updates_is_stored_as_rows_of_at_most_the_bound_each_update_once():
    chunk = committed_chunk(2500)
    rows = chunk.rows(1000)
    assert [(first, last) for first, last, _, _ in rows] == [(1, 1000), (1001, 2000), (2001, 2500)]
    for first, last, plots, values in rows:
        assert set(plots) == {7, 8}
        for plot_id, entry in plots.items():
            assert [u["seq"] for u in entry["updates"]] == list(range(first, last + 1))
            assert entry["revision"] == chunk.plots[plot_id]["revision"]
            assert entry["traces"] == chunk.plots[plot_id]["traces"]
        # The chunk's values, shared in proportion to the updates (each update here has two).
        assert values == 2 * 2 * (last - first + 1)
    assert sum(values for *_, values in rows) == chunk.values


def test_a_chunk_within_the_bound_is_one_row_as_it_is():
    chunk = committed_chunk(1000)
    assert chunk.rows(1000) == [(1, 1000, chunk.plots, chunk.values)]
