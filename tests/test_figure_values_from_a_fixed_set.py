"""An attribute that takes one of a fixed set of values (`mode`, `xaxis.type`, `line.dash`) is
refused with the closest valid value when given another: `"mode": "line"` would be drawn by
plotly.js as if no mode were given. The REST API refuses the figure (400); a stream refuses the
line alone."""

from __future__ import annotations

from harness.producer import send_lines


def test_the_rest_api_refuses_mode_line_and_names_lines(producer):
    status, body = producer.post("/api/plots/", {"figure": {"data": [{"y": [1, 2], "mode": "line"}]}})
    assert status == 400
    [error] = body["errors"]
    assert error["field"] == "figure.data[0].mode"
    assert "did you mean `lines`?" in error["message"]


def test_each_flag_of_a_combination_is_checked(producer):
    status, body = producer.post("/api/plots/", {"figure": {"data": [{"y": [1], "mode": "lines+marker"}]}})
    assert status == 400
    assert "did you mean `lines+markers`?" in body["message"]


def test_a_layout_value_outside_its_set_is_refused_with_the_values_it_takes(producer):
    status, body = producer.post("/api/plots/", {"figure": {"layout": {"xaxis": {"type": "lin"}}}})
    assert status == 400
    assert body["errors"][0]["field"] == "figure.layout.xaxis.type"
    assert "`linear`" in body["message"] and "did you mean `linear`?" in body["message"]


def test_the_values_of_the_set_are_accepted(producer):
    figure = {
        "data": [{"y": [1], "mode": "lines+markers", "line": {"dash": "5px,10px"}}, {"y": [2], "mode": "none"}],
        "layout": {"xaxis": {"type": "date", "anchor": "y2"}, "hovermode": "x unified"},
    }
    producer.ok("POST", "/api/plots/", {"figure": figure})


def test_a_stream_line_setting_mode_line_is_rejected_alone(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    lines = [
        {"x": 1, "y": 1},
        {"mode": "line"},
        {"layout": {"xaxis": {"type": "lin"}}},
        {"x": 2, "y": 2, "mode": "lines"},
    ]
    answer = send_lines(server.port, token, lines).json
    assert (answer["accepted"], answer["rejected"]) == (2, 2), answer
    reasons = {r["lines"][0]: r["reason"] for r in answer["rejections"]}
    assert "did you mean `lines`?" in reasons[2]
    assert reasons[3].startswith("layout.xaxis.type:") and "did you mean `linear`?" in reasons[3]
    trace = producer.figure(plot["id"])["data"][0]
    assert (trace["x"], trace["mode"]) == ([1, 2], "lines")
