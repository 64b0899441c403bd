"""A stream's answer says how many lines were rejected and why, grouped by reason, with the
first line numbers of each; a token that no trace uses is answered with a hint."""

from __future__ import annotations

from harness.producer import RawStream


def test_rejected_lines_are_grouped_by_reason_with_their_first_line_numbers(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    lines = [
        {"x": 1, "y": 1},
        "not json\n",
        {"x": True},
        "{oops\n",
        {"colour": 1},
        "[1]\n",
        {"x": True},
        {"x": 2, "y": 2},
        "nope\n",
    ]
    for line in lines:
        stream.write(line)
    answer = stream.end().json
    assert (answer["status"], answer["accepted"], answer["rejected"]) == (200, 2, 7)
    by_reason = {r["reason"]: (r["count"], r["lines"]) for r in answer["rejections"]}
    assert by_reason == {
        "not JSON: Expecting value": (2, [2, 9]),
        "x: expected a number, string, null or array, got a boolean": (2, [3, 7]),
        "not JSON: Expecting property name enclosed in double quotes": (1, [4]),
        "colour: this attribute cannot be streamed": (1, [5]),
        "expected a JSON object, got an array": (1, [6]),
    }
    assert answer["last_error"]["line"] == 9
    assert "hint" not in answer


def test_line_numbers_are_kept_for_the_first_few_of_each_reason_only(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    stream.write("bad\n" * 1000)
    answer = stream.end().json
    (rejection,) = answer["rejections"]
    assert (rejection["count"], rejection["lines"]) == (1000, [1, 2, 3, 4, 5])


def test_objects_run_together_on_one_line_say_how_to_send_a_file(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    stream = RawStream(server.port, token, chunked=False)
    stream.send_body(b'{"x": 1, "y": 1}{"x": 2, "y": 2}')  # what curl -d @file makes of two lines
    answer = stream.answer().json
    assert answer["rejected"] == 1
    assert "--data-binary" in answer["last_error"]["message"]


def test_a_token_that_no_trace_uses_is_answered_with_a_hint(server, producer):
    token = producer.make_token()
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 1})
    answer = stream.end().json
    assert (answer["status"], answer["accepted"]) == (200, 1)
    assert "no trace uses this stream token" in answer["hint"]
