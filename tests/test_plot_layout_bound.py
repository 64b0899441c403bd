"""A plot's layout has a byte bound, PLOT_LAYOUT_MAX_BYTES: a stream line that would grow it past
the bound is rejected alone (the stream goes on, nothing accepted is lost), and an edit past it
is a 400 naming the layout. Axes are valid names however many there are, so names alone do not
bound a layout: 1,000 axis titles once made a 36 MB figure."""

from __future__ import annotations

import pytest

from core.protocol import LineRejected, parse_line
from harness.live_server import new_user
from harness.producer import send_lines
from streaming.stream_state import LiveTrace, StreamWriter, WriterView

LIMIT = 4096


def titled(axis: int, size: int) -> dict:
    return {f"xaxis{axis}": {"title": {"text": "t" * size}}}


def test_a_writer_refuses_a_layout_change_past_the_bound_before_numbering_it(settings):
    settings.PLOT_LAYOUT_MAX_BYTES = LIMIT
    trace = LiveTrace(1, 7, 0, 500, {"x": [], "y": []})
    writer = StreamWriter(1, 0, WriterView([trace], {7: 0}, (), {7: {"title": {"text": "kept"}}}))
    writer.accept(parse_line(b'{"layout": {"xaxis2": {"title": "%s"}}}' % (b"a" * 3000)))
    with pytest.raises(LineRejected, match="PLOT_LAYOUT_MAX_BYTES"):
        writer.accept(parse_line(b'{"layout": {"xaxis3": {"title": "%s"}}}' % (b"b" * 3000)))
    assert writer.seq == 1 and "xaxis3" not in writer.layouts[7]
    # A change that replaces rather than grows stays within the bound however often it comes.
    for _ in range(5):
        writer.accept(parse_line(b'{"layout": {"xaxis2": {"title": "%s"}}}' % (b"c" * 3000)))
    assert writer.seq == 6


def test_a_stream_line_past_the_bound_is_rejected_alone_and_an_edit_past_it_is_400(start_server, integration_db):
    server = start_server(name="layout-bound", PLOT_LAYOUT_MAX_BYTES=str(LIMIT))
    owner = new_user(integration_db.env, server.url)
    token = owner.make_token()
    plot = owner.make_plot([token])

    lines = [
        {"x": 1, "y": 1, "layout": titled(2, 3000)},
        {"x": 2, "y": 2, "layout": titled(3, 3000)},  # the layout would pass 4 KiB: this line alone goes
        {"x": 3, "y": 3},
    ]
    answer = send_lines(server.port, token, lines).json
    assert (answer["accepted"], answer["rejected"]) == (2, 1)
    assert answer["last_error"]["line"] == 2 and "PLOT_LAYOUT_MAX_BYTES" in answer["last_error"]["message"]
    figure = owner.figure(plot["id"])
    assert figure["data"][0]["x"] == [1, 3]
    assert "xaxis2" in figure["layout"] and "xaxis3" not in figure["layout"]

    status, body = owner.request("PATCH", f"/api/plots/{plot['id']}/", {"figure": {"layout": titled(4, 5000)}})
    assert status == 400
    assert body["errors"][0]["field"].startswith("figure") and "PLOT_LAYOUT_MAX_BYTES" in body["message"]
