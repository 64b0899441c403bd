"""Of several server processes given the same broker, one subscribes (the lease "mqtt"): each
message is stored once, and when that process stops another takes the subscriptions over."""

from __future__ import annotations

import uuid

from harness.live_server import Api, new_user, wait_for


def test_two_servers_store_each_message_once_and_the_second_takes_over_at_a_stop(
    integration_db, start_server, mosquitto
):
    settings = {"MQTT_URL": mosquitto.url(), "MQTT_RELOAD_EVERY": "0.5", "MQTT_RECONNECT_MAX": "1"}
    first = start_server("mqtt-a", **settings)
    second = start_server("mqtt-b", **settings)
    alice = new_user(integration_db.env, first.url)
    topic = f"plotserver/{alice.username}/twice/{uuid.uuid4().hex[:8]}"
    stream = alice.make_stream("mqtt")
    alice.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": topic})
    plot = alice.make_plot([stream["token"]])
    reader = alice

    def ys() -> list:
        return reader.figure(plot["id"])["data"][0]["y"]

    def published_until_stored(value: int) -> bool:
        mosquitto.publish(topic, str(value))
        return value in ys()

    wait_for(lambda: published_until_stored(-1), timeout=30, interval=0.5, message="subscribed")
    for value in range(20):
        mosquitto.publish(topic, str(value))
    wait_for(lambda: 19 in ys(), timeout=30, message="twenty messages stored")
    assert [y for y in ys() if y >= 0] == list(range(20))

    holder, other = (first, second) if "connected to the MQTT broker" in first.log_text() else (second, first)
    assert "connected to the MQTT broker" not in other.log_text()
    holder.stop()
    reader = Api(other.url, alice.username, alice.key)
    wait_for(lambda: published_until_stored(100), timeout=30, interval=0.5, message="the other server subscribed")
    assert "connected to the MQTT broker" in other.log_text()
