"""A broker that goes away and comes back: the subscriber connects again and subscribes again
by itself, and messages published after the restart are stored; meanwhile the server stays
ready and its streams go on."""

from __future__ import annotations

import json
import urllib.request

from harness.live_server import new_user, wait_for
from harness.producer import send_lines


def ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/readyz", timeout=10) as answer:
        return answer.status == 200 and json.loads(answer.read())["status"] == "ready"


def test_the_subscription_recovers_by_itself_after_the_broker_restarts(integration_db, mosquitto, mqtt_server):
    alice = new_user(integration_db.env, mqtt_server.url)
    topic, _, plot = alice.make_mqtt_plot("pressure")

    def ys() -> list:
        return alice.figure(plot["id"])["data"][0]["y"]

    def published_until_stored(value: int) -> bool:
        mosquitto.publish(topic, str(value))
        return value in ys()

    wait_for(lambda: published_until_stored(1), timeout=30, interval=0.5, message="subscribed before the restart")

    mosquitto.stop()
    # The broker away: the server is ready, and an HTTP stream is taken and stored as ever.
    assert ready(mqtt_server.url)
    other = alice.make_stream("http")
    http_plot = alice.make_plot([other["token"]])
    assert send_lines(mqtt_server.port, other["token"], [{"x": 1, "y": 10}]).status == 200
    assert alice.figure(http_plot["id"])["data"][0]["y"] == [10]

    mosquitto.start()  # the same port, a broker that knows nothing of the old subscription
    wait_for(lambda: published_until_stored(2), timeout=30, interval=0.5, message="subscribed again by itself")
    mosquitto.publish(topic, "3")
    wait_for(lambda: ys()[-1] == 3, timeout=30, message="a message after the restart stored")
    assert "MQTT broker is away" in mqtt_server.log_text()
