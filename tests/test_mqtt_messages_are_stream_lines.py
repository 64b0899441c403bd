"""MQTT messages on a token's topic are lines of its stream, on a real server and a real
mosquitto: a JSON object as a producer writes it, a bare number (y at the arrival time), line
protocol; a payload that is none of them is counted as a rejected line in the token's status;
the points are stored (a new server shows them) and another user's token takes nothing: not
even with a topic filter reaching into that user's namespace, which is refused."""

from __future__ import annotations

import uuid

from harness.live_server import Api, new_user, wait_for


def topic_stream(user: Api, topic: str) -> tuple[str, int]:
    """A token subscribed to `topic`, feeding a new plot: (token, plot id)."""
    stream = user.make_stream("mqtt")
    user.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": topic})
    plot = user.make_plot([stream["token"]])
    return stream["token"], plot["id"]


def ys(user: Api, plot_id: int) -> list:
    return user.figure(plot_id)["data"][0]["y"]


def test_json_number_and_line_protocol_messages_are_points_stored_durably(
    integration_db, start_server, mosquitto, mqtt_server
):
    alice = new_user(integration_db.env, mqtt_server.url)
    room = uuid.uuid4().hex[:8]
    token, plot_id = topic_stream(alice, f"plotserver/{alice.username}/lab/{room}/+/temp")
    assert alice.stream_status(token)["mqtt_topic"] == f"plotserver/{alice.username}/lab/{room}/+/temp"

    def publish_until_stored(payload: str, count: int) -> None:
        """The subscription comes with the next reload: the first message is sent until it shows."""
        wait_for(
            lambda: (
                mosquitto.publish(f"plotserver/{alice.username}/lab/{room}/a/temp", payload)
                or len(ys(alice, plot_id)) >= count
            ),
            timeout=30,
            interval=0.5,
            message=f"{payload!r} stored",
        )

    publish_until_stored('{"x": "2026-12-07T10:00:00", "y": 20.5}', 1)
    first = len(ys(alice, plot_id))
    mosquitto.publish(f"plotserver/{alice.username}/lab/{room}/b/temp", "21.25")
    mosquitto.publish(f"plotserver/{alice.username}/lab/{room}/a/temp", "temp,room=lab celsius=22 1796637602000000000")
    mosquitto.publish(
        f"plotserver/{alice.username}/lab/{room}/a/temp", '{\n  "x": "2026-12-07T10:00:03",\n  "y": 23\n}'
    )
    wait_for(lambda: len(ys(alice, plot_id)) == first + 3, timeout=30, message="three more points")
    figure = alice.figure(plot_id)["data"][0]
    assert figure["y"][-4:] == [20.5, 21.25, 22, 23]
    assert figure["x"][-2:] == ["2026-12-07T10:00:02.000000", "2026-12-07T10:00:03"]
    assert figure["x"][-3].startswith("20")  # the arrival time, as a date
    status = alice.stream_status(token)
    assert (status["accepted"], status["rejected"]) == (first + 3, 0)

    # Stored: a server started afresh on the same database shows them.
    mqtt_server.stop()
    other = start_server("after")
    assert Api(other.url, alice.username, alice.key).figure(plot_id)["data"][0]["y"][-4:] == [20.5, 21.25, 22, 23]


def test_a_payload_that_is_no_line_is_counted_as_rejected_in_the_tokens_status(integration_db, mosquitto, mqtt_server):
    alice = new_user(integration_db.env, mqtt_server.url)
    topic = f"plotserver/{alice.username}/dev/{uuid.uuid4().hex[:8]}"
    token, plot_id = topic_stream(alice, topic)
    wait_for(
        lambda: mosquitto.publish(topic, "1") or ys(alice, plot_id), timeout=30, interval=0.5, message="subscribed"
    )
    rejected = alice.stream_status(token)["rejected"]
    mosquitto.publish(topic, "hello world")
    mosquitto.publish(topic, '{"y": 3')  # JSON cut short: the core refuses it
    mosquitto.publish(topic, "2")
    wait_for(lambda: alice.stream_status(token)["rejected"] == rejected + 2, timeout=30, message="two rejected")
    wait_for(lambda: ys(alice, plot_id)[-1] == 2, timeout=30, message="the good message after them stored")
    status = alice.stream_status(token)
    assert status["last_error"]["message"]
    assert status["remote_addr"] == f"mqtt:{topic}"


def test_another_users_token_takes_nothing_of_a_topic_it_does_not_subscribe_to(integration_db, mosquitto, mqtt_server):
    alice = new_user(integration_db.env, mqtt_server.url)
    bob = new_user(integration_db.env, mqtt_server.url)
    alices_topic = f"plotserver/{alice.username}/{uuid.uuid4().hex[:8]}"
    alices, alices_plot = topic_stream(alice, alices_topic)
    bobs, bobs_plot = topic_stream(bob, f"plotserver/{bob.username}/#")
    for reaching in ("#", "plotserver/#", f"plotserver/{alice.username}/#", alices_topic):
        status, answer = bob.request("PATCH", f"/api/streams/{bob.stream_id(bobs)}/", {"mqtt_topic": reaching})
        assert status == 400, reaching
        assert f"begins with 'plotserver/{bob.username}/'" in answer["errors"][0]["message"]
    wait_for(
        lambda: mosquitto.publish(alices_topic, "5") or ys(alice, alices_plot),
        timeout=30,
        interval=0.5,
        message="alice's topic subscribed",
    )
    wait_for(
        lambda: mosquitto.publish(f"plotserver/{bob.username}/x", "7") or ys(bob, bobs_plot),
        timeout=30,
        interval=0.5,
        message="bob's topic subscribed",
    )
    assert set(ys(alice, alices_plot)) == {5}
    assert set(ys(bob, bobs_plot)) == {7}  # bob's `plotserver/<bob>/#` never took alice's messages
    assert bob.stream_status(bobs)["rejected"] == alice.stream_status(alices)["rejected"] == 0
