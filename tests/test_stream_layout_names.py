"""A stream's layout changes use the names a REST figure may use, and no others: a line with a
name Plotly's layout does not have is rejected alone, with a did-you-mean for a typo, and the
line before and after it are kept."""

import pytest

from core.protocol import LineRejected, parse_line
from harness.producer import send_lines


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"layout": {"foo": 1}}', "layout.foo: the layout has no attribute `foo`"),
        (b'{"layout": {"xaxis": {"bogus": 2}}}', "layout.xaxis.bogus: `xaxis` has no attribute `bogus`"),
        (b'{"layout": {"titel": "Reactor"}}', "did you mean `title`?"),
        (b'{"y": 1, "layout": {"yaxis": {"rnage": [0, 1]}}}', "did you mean `range`?"),
    ],
)
def test_a_layout_name_plotly_does_not_have_rejects_the_line(line, message):
    with pytest.raises(LineRejected, match=message.replace("?", r"\?").replace(".", r"\.")):
        parse_line(line)


@pytest.mark.parametrize(
    "layout",
    [
        b'{"title": "Reactor 2", "yaxis": {"range": [0, 10]}}',
        b'{"xaxis2": {"title": {"text": "t"}}, "yaxis7": {"type": "log"}}',
        b'{"template": {"anything": {"goes": 1}}, "meta": {"mine": 1}}',
        b'{"annotations": [{"text": "here", "x": 1, "y": 2}], "shapes": [{"type": "line"}]}',
        b'{"xaxis": {"range": null}}',
    ],
)
def test_the_names_of_plotly_layouts_are_accepted(layout):
    assert parse_line(b'{"layout": %s}' % layout).layout


def test_a_live_stream_keeps_the_lines_around_a_misnamed_layout_and_says_why(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    lines = [
        {"x": 1, "y": 1, "layout": {"title": "Reactor"}},
        {"x": 2, "y": 2, "layout": {"xaxis": {"bogus": 2}, "titel": "typo"}},
        {"x": 3, "y": 3},
    ]
    answer = send_lines(server.port, token, lines).json
    assert (answer["accepted"], answer["rejected"]) == (2, 1)
    assert answer["last_error"]["line"] == 2 and "has no attribute" in answer["last_error"]["message"]
    figure = producer.figure(plot["id"])
    assert figure["data"][0]["x"] == [1, 3]
    assert figure["layout"]["title"] == {"text": "Reactor"}
    assert "titel" not in figure["layout"] and "bogus" not in figure["layout"].get("xaxis", {})
