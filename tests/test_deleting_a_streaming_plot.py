"""Deleting a plot while a producer streams into it ends that stream with 410 ("the plot this
stream token fed was deleted"), on whichever process holds it and through either door; a new
stream on the token is refused the same way until a trace uses the token again. A token that
still feeds another plot streams on."""

from __future__ import annotations

import os
import threading

from harness.live_server import free_port, manage, new_user, wait_for
from harness.producer import RawStream, open_streaming_plot
from tests.client_module import start_cli

PLOT_DELETED = (
    "the plot this stream token fed was deleted: its stream ended and no new one is taken until a trace "
    "uses the token again"
)
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def delete_plot(api, plot_id: int) -> None:
    status, body = api.request("DELETE", f"/api/plots/{plot_id}/")
    assert status == 204, body


def test_deleting_the_plot_ends_its_stream_with_410_and_stores_nothing_after(streaming_plot, producer, server):
    token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    delete_plot(producer, plot["id"])
    for x in range(2, 5):  # the producer streams on until its answer comes
        try:
            stream.write({"x": x, "y": x})
        except OSError:
            break
    answer = stream.answer(timeout=30)
    assert (answer.status, answer.json["message"]) == (410, PLOT_DELETED)
    stored = producer.stream_status(token)["accepted"]
    assert stored == answer.json["accepted"] >= 1

    again = RawStream(server.port, token).open()
    again.write({"x": 9, "y": 9})
    refused = again.answer(timeout=10)
    assert (refused.status, refused.json["message"]) == (410, PLOT_DELETED)
    assert producer.stream_status(token)["accepted"] == stored
    assert producer.request("GET", f"/api/plots/{plot['id']}/")[0] == 404


def test_a_token_that_still_feeds_another_plot_streams_on(server, producer):
    token = producer.make_token()
    doomed, kept = producer.make_plot([token]), producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 1})
    delete_plot(producer, doomed["id"])
    stream.write({"x": 2, "y": 2})
    assert stream.end().status == 200
    assert producer.figure(kept["id"])["data"][0]["x"] == [1, 2]


def test_a_token_bound_to_a_new_plot_streams_again_and_unbound_later_streams_on(streaming_plot, producer, server):
    token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    delete_plot(producer, plot["id"])
    assert stream.answer(timeout=30).status == 410
    fresh = producer.make_plot([token])
    again = RawStream(server.port, token).open()
    again.write({"x": 2, "y": 2})
    assert again.end().status == 200
    assert producer.figure(fresh["id"])["data"][0]["x"] == [2]
    status, body = producer.request("PATCH", f"/api/plots/{fresh['id']}/traces/0/", {"token": None})
    assert status == 200, body
    # The deletion is long past: the token is now one no trace uses, not a deleted plot's.
    unbound = RawStream(server.port, token).open()
    unbound.write({"x": 3, "y": 3})
    assert unbound.end().status == 200


def test_a_deletion_whose_message_never_arrives_still_ends_the_stream(streaming_plot, producer, integration_db):
    _token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    # Deleted by another process whose announcement reaches no one (its in-memory channel layer):
    # the stream's own process finds out at its next lease renewal.
    manage("shell", "-c", f"from core.models import Plot; Plot.objects.filter(pk={plot['id']}).remove()",
           env=integration_db.env)  # fmt: skip
    answer = stream.answer(timeout=30)
    assert (answer.status, answer.json["message"], answer.json["accepted"]) == (410, PLOT_DELETED, 1)


def test_the_stream_listener_ends_a_plotly_clients_stream_the_same_way(start_server, integration_db):
    server = start_server(name="listener-delete", STREAM_PORT=str(free_port()))
    user = new_user(integration_db.env, server.url)
    token, plot, stream = open_streaming_plot(user, int(server.env["STREAM_PORT"]), first={"x": 1, "y": 1})
    delete_plot(user, plot["id"])
    answer = stream.answer(timeout=30)
    assert (answer.status, answer.json["message"]) == (410, PLOT_DELETED)
    refused = RawStream(int(server.env["STREAM_PORT"]), token).open()
    refused.write({"x": 2})
    assert refused.answer(timeout=10).status == 410


def test_deleting_on_one_process_ends_the_stream_on_the_other(start_server, integration_db):
    a = start_server(name="delete-a", REDIS_URL=REDIS_URL)
    b = start_server(name="delete-b", REDIS_URL=REDIS_URL)
    user = new_user(integration_db.env, a.url)
    _token, plot, stream = open_streaming_plot(user, a.port, first={"x": 1, "y": 1})
    user.base_url = b.url
    delete_plot(user, plot["id"])
    answer = stream.answer(timeout=10)  # by Redis, well before a lease renewal would notice
    assert (answer.status, answer.json["message"]) == (410, PLOT_DELETED)


def test_plotserver_stream_stops_for_good_with_the_servers_reason(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    cli = start_cli("--url", server.url, "--token", token)
    stop = threading.Event()

    def produce() -> None:
        """A sensor writing 20 points a second, until the command stops reading."""
        x = 0
        while not stop.is_set():
            try:
                cli.stdin.write(b'{"x": %d, "y": 1}\n' % x)
                cli.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            x += 1
            stop.wait(0.05)

    sensor = threading.Thread(target=produce, daemon=True)
    sensor.start()
    try:
        wait_for(lambda: producer.stream_status(token)["accepted"] >= 1, timeout=20, message="the first point stored")
        delete_plot(producer, plot["id"])
        assert cli.wait(timeout=30) == 1
        assert f"plotserver-stream: 410 {PLOT_DELETED}".encode() in cli.stderr.read()
    finally:
        stop.set()
        if cli.poll() is None:
            cli.kill()
        sensor.join(timeout=5)
