"""Every way a stream on the main port ends gets one clear answer, and keeps what was accepted."""

from __future__ import annotations

import socket

from harness.live_server import new_user, wait_for
from harness.producer import RawStream, open_streaming_plot, parse_answer, send_lines


def test_an_unknown_token_is_a_404_before_the_body_is_read(server):
    stream = RawStream(server.port, "no-such-token-anywhere").open()
    answer = stream.answer()
    assert answer.status == 404
    assert answer.json["message"] == "unknown or revoked stream token"
    assert answer.headers["connection"] == "close"


def test_a_get_with_a_token_is_a_405(server, producer):
    token = producer.make_token()
    answer = RawStream(server.port, token, method="GET", chunked=False).open()
    answer.send_raw(b"\r\n")
    assert answer.answer().status == 405


def test_a_bad_line_is_counted_and_the_stream_goes_on(streaming_plot, producer):
    token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    stream.write("this is not json\n")
    stream.write({"x": 2, "y": True})
    stream.write(b'{"x": "\xff"}\n')
    stream.write({"x": 3, "y": 3})
    answer = stream.end()
    assert (answer.status, answer.json["accepted"], answer.json["rejected"]) == (200, 2, 3)
    assert answer.json["last_error"] == {"line": 4, "message": "not valid UTF-8 (byte 7)"}
    assert producer.figure(plot["id"])["data"][0]["x"] == [1, 3]
    status = producer.stream_status(token)
    assert (status["accepted"], status["rejected"]) == (2, 3)
    assert status["last_error"]["line"] == 4
    assert status["remote_addr"] == "127.0.0.1"
    assert status["last_write_at"] is not None


def test_a_line_longer_than_the_limit_is_rejected_alone_and_the_stream_goes_on(start_server, integration_db):
    server = start_server(name="small-lines", STREAM_MAX_LINE_BYTES="1000")
    user = new_user(integration_db.env, server.url)
    _, plot, stream = open_streaming_plot(user, server.port, first={"x": 1, "y": 1})
    stream.write('{"x": 9, "y": 9, "text": "' + "a" * 2000 + '"}\n')  # a 2 kB line, its newline included
    stream.write('{"x": 2, "y": 2}\n')
    stream.write('{"x": 3, "y": 3, "text": "' + "b" * 5000)  # the last line, never ended
    answer = stream.end()
    assert (answer.status, answer.json["accepted"], answer.json["rejected"]) == (200, 2, 2)
    assert answer.json["last_error"]["line"] == 4
    assert "longer than STREAM_MAX_LINE_BYTES (1000)" in answer.json["last_error"]["message"]
    assert user.figure(plot["id"])["data"][0]["x"] == [1, 2]


def test_broken_chunked_framing_is_a_400_that_keeps_earlier_points(streaming_plot, producer):
    token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    stream.send_raw(b"zz\r\nnot a chunk\r\n")
    assert stream.answer().status == 400
    assert producer.figure(plot["id"])["data"][0]["x"] == [1]
    wait_for(lambda: producer.stream_status(token)["connected"] is False)


def test_a_stream_is_not_connected_after_it_ends(streaming_plot, producer):
    token, _, stream = streaming_plot(first={"x": 1})
    stream.end()
    assert producer.stream_status(token)["connected"] is False


def test_a_producer_that_vanishes_keeps_its_accepted_points(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 1})
    stream.write({"x": 2, "y": 2})
    wait_for(lambda: producer.stream_status(token)["accepted"] == 2)
    assert producer.stream_status(token)["connected"]
    stream.sock.close()
    wait_for(lambda: producer.stream_status(token)["connected"] is False)
    assert producer.figure(plot["id"])["data"][0]["x"] == [1, 2]


def test_one_token_drives_every_trace_bound_to_it_each_with_its_own_maxpoints(server, producer):
    token = producer.make_token()
    first = producer.ok(
        "POST",
        "/api/plots/",
        {
            "figure": {
                "data": [
                    {"x": [], "y": [], "stream": {"token": token, "maxpoints": 2}},
                    {"x": [], "y": [], "stream": {"token": token, "maxpoints": 4}},
                ]
            }
        },
    )
    second = producer.make_plot([token], maxpoints=3)
    assert send_lines(server.port, token, [{"x": i, "y": i} for i in range(5)]).json["accepted"] == 5
    data = producer.figure(first["id"])["data"]
    assert [data[0]["x"], data[1]["x"]] == [[3, 4], [1, 2, 3, 4]]
    assert producer.figure(second["id"])["data"][0]["x"] == [2, 3, 4]


def test_mixed_lines_append_a_point_and_change_the_layout(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    line = {"x": 1, "y": 2, "layout": {"title": "now", "xaxis": {"range": [0, 9]}}}
    assert send_lines(server.port, token, [line]).status == 200
    figure = producer.figure(plot["id"])
    assert figure["data"][0]["x"] == [1]
    assert figure["layout"]["title"] == {"text": "now"}
    assert figure["layout"]["xaxis"] == {"range": [0, 9]}


def test_a_plain_request_without_a_token_still_reaches_the_pages(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert parse_answer(raw).status == 200


def test_a_post_to_the_root_without_a_token_header_rejects_a_line_that_names_none(server):
    stream = RawStream(server.port, None, chunked=False)
    stream.send_body(b'{"x": 1}\n')
    answer = stream.answer()
    assert (answer.status, answer.json["accepted"], answer.json["rejected"]) == (200, 0, 1)
    assert answer.json["last_error"]["message"].startswith("the line names no stream token")
    assert answer.json["tokens"] == {}


def test_line_numbers_count_heartbeats_as_the_producer_does(server, producer):
    token = producer.make_token()
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1})
    stream.write("\n")
    stream.write("\n")
    stream.write("not json\n")
    assert stream.end().json["last_error"]["line"] == 4
