"""A misspelled name gets the name it most likely meant, wherever a figure comes in: British
spellings (`colour`) name the American one Plotly uses, in a REST figure and in a stream line
(which is rejected alone, as a layout name Plotly does not have is)."""

from __future__ import annotations

from harness.producer import send_lines


def test_the_rest_api_names_color_for_marker_colour(producer):
    status, body = producer.post("/api/plots/", {"figure": {"data": [{"y": [1], "marker": {"colour": "red"}}]}})
    assert status == 400
    assert body["message"] == (
        "figure.data[0].marker.colour: `marker` has no attribute `colour`; did you mean `color`?"
    )


def test_the_rest_api_names_colorway_for_colourway(producer):
    status, body = producer.post("/api/plots/", {"figure": {"layout": {"colourway": ["red"]}}})
    assert status == 400
    assert "did you mean `colorway`?" in body["message"]


def test_a_stream_names_marker_color_for_marker_colour_and_keeps_the_other_lines(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    lines = [{"x": 1, "y": 1}, {"x": 2, "y": 2, "marker": {"colour": "red"}}, {"x": 3, "y": 3, "marker.szie": 4}]
    answer = send_lines(server.port, token, lines).json
    assert (answer["accepted"], answer["rejected"]) == (1, 2), answer
    reasons = {r["lines"][0]: r["reason"] for r in answer["rejections"]}
    assert reasons[2] == "marker.colour: this attribute cannot be streamed; did you mean `marker.color`?"
    assert reasons[3] == "marker.szie: this attribute cannot be streamed; did you mean `marker.size`?"
    assert producer.figure(plot["id"])["data"][0]["x"] == [1]


def test_a_stream_line_whose_layout_has_a_typo_alone_is_rejected_alone(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    answer = send_lines(server.port, token, [{"x": 1, "y": 1}, {"layout": {"titel": "x"}}, {"x": 2, "y": 2}]).json
    assert (answer["accepted"], answer["rejected"]) == (2, 1), answer
    assert answer["last_error"] == {
        "line": 2,
        "message": "layout.titel: the layout has no attribute `titel`; did you mean `title`?",
    }
    assert "titel" not in producer.figure(plot["id"])["layout"]
