"""A plot's data has a byte bound, PLOT_DATA_MAX_BYTES, shared evenly by its traces: a stream
line that would grow a trace's window past its share is rejected alone (the stream goes on,
nothing accepted is lost), and an edit past it is a 400 naming the trace. Lines of long text
once grew a window without bound: maxpoints counts points, not bytes."""

from __future__ import annotations

import pytest

from core.figure_schema import json_bytes
from core.protocol import LineRejected, parse_line
from harness.live_server import new_user
from harness.producer import send_lines
from streaming.stream_state import LiveTrace, StreamWriter, WriterView

LIMIT = 128 * 1024  # the plot's data; a plot of one trace gives it all to that trace


def point(i: int, text_bytes: int) -> bytes:
    return b'{"x": %d, "y": %d, "text": "%s"}' % (i, i, b"t" * text_bytes)


def writer_of(*traces: LiveTrace) -> StreamWriter:
    return StreamWriter(1, 0, WriterView(list(traces), {7: 0}, (), {7: {}}))


def test_points_that_would_pass_a_windows_share_are_refused_before_anything_changes(settings):
    settings.PLOT_DATA_MAX_BYTES = LIMIT
    trace = LiveTrace(1, 7, 0, 500, {"x": [], "y": [], "text": []})
    writer = writer_of(trace)
    for i in range(3):
        writer.accept(parse_line(point(i, 40_000)))
    with pytest.raises(LineRejected, match="PLOT_DATA_MAX_BYTES"):
        writer.accept(parse_line(point(3, 40_000)))
    assert writer.seq == 3 and trace.spec["x"] == [0, 1, 2]
    # A small point still fits.
    writer.accept(parse_line(point(4, 100)))
    assert trace.spec["x"] == [0, 1, 2, 4]


def test_a_rolling_window_within_its_share_takes_every_line(settings):
    settings.PLOT_DATA_MAX_BYTES = LIMIT
    trace = LiveTrace(1, 7, 0, 5, {"x": [], "y": [], "text": []})
    writer = writer_of(trace)
    for i in range(200):  # five points of 20 KB: the oldest leaves as each new one comes
        writer.accept(parse_line(point(i, 20_000)))
    assert writer.seq == 200 and trace.spec["x"] == [195, 196, 197, 198, 199]


def test_each_trace_holds_an_even_share_of_its_plots_bound(settings):
    settings.PLOT_DATA_MAX_BYTES = LIMIT
    traces = [LiveTrace(i, 7, i, 500, {"x": [], "y": [], "text": []}, plot_traces=4) for i in range(2)]
    writer = writer_of(*traces)
    writer.accept(parse_line(point(0, 20_000)))  # each of the two gets it: 20 KB of a 32 KiB share
    with pytest.raises(LineRejected, match=r"plot 7, trace 0: .* \(32768 bytes\)"):
        writer.accept(parse_line(point(1, 20_000)))
    assert [t.spec["x"] for t in traces] == [[0], [0]]


def test_whole_arrays_and_styles_are_weighed_as_they_are_stored(settings):
    settings.PLOT_DATA_MAX_BYTES = LIMIT
    trace = LiveTrace(1, 7, 0, 10_000, {"x": [], "y": []})
    writer = writer_of(trace)
    writer.accept(parse_line(b'{"x": [%s], "name": "%s"}' % (b",".join(b"1" for _ in range(5000)), b"n" * 50_000)))
    with pytest.raises(LineRejected, match="PLOT_DATA_MAX_BYTES"):
        writer.accept(parse_line(b'{"line": {"color": "%s"}}' % (b"c" * 80_000)))
    assert "line" not in trace.spec
    # A style that replaces one of the same size is no growth.
    writer.accept(parse_line(b'{"name": "%s"}' % (b"m" * 50_000)))
    assert trace.spec["name"].startswith("m")


def test_a_stream_line_past_the_share_is_rejected_alone_and_an_edit_past_it_is_400(start_server, integration_db):
    server = start_server(name="data-bound", PLOT_DATA_MAX_BYTES=str(LIMIT))
    owner = new_user(integration_db.env, server.url)
    token = owner.make_token()
    plot = owner.make_plot([token])

    lines = [{"x": i, "y": i, "text": "t" * 40_000} for i in range(4)] + [{"x": 9, "y": 9}]
    answer = send_lines(server.port, token, lines).json
    assert (answer["accepted"], answer["rejected"]) == (4, 1)
    assert answer["last_error"]["line"] == 4 and "PLOT_DATA_MAX_BYTES" in answer["last_error"]["message"]
    figure = owner.figure(plot["id"])
    assert figure["data"][0]["x"] == [0, 1, 2, 9]

    heavy = {"type": "scatter", "x": [1], "y": [1], "text": ["t" * (LIMIT // 2)]}
    status, body = owner.request("PATCH", f"/api/plots/{plot['id']}/", {"figure": {"data": [heavy, heavy]}})
    assert status == 400
    assert body["errors"][0]["field"] == "figure.data[0]" and "PLOT_DATA_MAX_BYTES" in body["message"]
    status, body = owner.request("POST", f"/api/plots/{plot['id']}/traces/", {"spec": {**heavy, "text": ["t" * LIMIT]}})
    assert status == 400 and "PLOT_DATA_MAX_BYTES" in body["message"]
    assert owner.figure(plot["id"])["data"][0]["x"] == [0, 1, 2, 9]


def test_a_value_that_becomes_one_a_point_is_weighed_as_it_would_be_stored(settings):
    settings.PLOT_DATA_MAX_BYTES = LIMIT
    colour = "rgba(10, 20, 30, 0.5)" * 4  # a trace-wide colour, set by an edit
    trace = LiveTrace(1, 7, 0, 10_000, {"x": list(range(3000)), "y": [0] * 3000, "marker": {"color": colour}})
    writer = writer_of(trace)
    # A per-point colour turns the trace-wide one into one a point: 3,000 copies, past the share.
    with pytest.raises(LineRejected, match="PLOT_DATA_MAX_BYTES"):
        writer.accept(parse_line(b'{"x": 1, "y": 2, "marker": {"color": "red"}}'))
    assert trace.spec["marker"]["color"] == colour and len(trace.spec["x"]) == 3000


def test_the_count_stays_above_what_the_window_weighs(settings):
    settings.PLOT_DATA_MAX_BYTES = 16 << 20
    spec = {"x": [0], "y": [0], "text": ["a"], "customdata": [1], "hovertext": ["h"], "marker": {"size": [3]}}
    trace = LiveTrace(1, 7, 0, 300, spec)
    writer = writer_of(trace)
    for i in range(1000):  # lines that leave the other per-point lists out: each gets a null
        writer.accept(parse_line(b'{"x": %d, "y": %d}' % (i, i)))
    assert len(trace.spec["text"]) == len(trace.spec["x"]) == 300
    assert trace.weight.total >= json_bytes(trace.spec)


def test_a_point_that_reshapes_the_window_leaves_the_counts_true_for_the_next_line(settings):
    settings.PLOT_DATA_MAX_BYTES = LIMIT
    trace = LiveTrace(1, 7, 0, 500, {"x": [], "y": []})
    writer = writer_of(trace)
    writer.accept(parse_line(b'{"y": 1}'))  # y alone: the empty x is dropped (points numbered)
    writer.accept(parse_line(b'{"x": 2, "y": 3}'))  # x again: it starts with a null for the point before
    assert trace.spec == {"x": [None, 2], "y": [1, 3]}
    assert trace.weight.lists == {"x", "y"}
