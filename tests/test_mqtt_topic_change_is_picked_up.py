"""A token's topic changed with PATCH is picked up by the running server, without a restart:
the new topic's messages are stored, the old topic's no longer, and the retained message the
broker sends with the new subscription is not (it would come again with every one)."""

from __future__ import annotations

import uuid

from harness.live_server import new_user, wait_for


def test_a_topic_changed_with_patch_is_subscribed_the_old_one_dropped_and_a_retained_message_not_stored(
    integration_db, mosquitto, mqtt_server
):
    alice = new_user(integration_db.env, mqtt_server.url)
    base = uuid.uuid4().hex[:8]
    old, new = f"plotserver/{alice.username}/{base}/old", f"plotserver/{alice.username}/{base}/new"
    stream = alice.make_stream("mqtt")
    alice.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": old})
    plot = alice.make_plot([stream["token"]])

    def ys() -> list:
        return alice.figure(plot["id"])["data"][0]["y"]

    def published_until_stored(topic: str, value: int) -> bool:
        mosquitto.publish(topic, str(value))
        return value in ys()

    wait_for(lambda: published_until_stored(old, 1), timeout=30, interval=0.5, message="the old topic")
    mosquitto.publish(new, "77", retain=True)
    alice.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": new})
    wait_for(lambda: published_until_stored(new, 2), timeout=30, interval=0.5, message="the new topic")
    mosquitto.publish(old, "99")
    mosquitto.publish(new, "3")
    wait_for(lambda: ys()[-1] == 3, timeout=30, message="the new topic's next message")
    assert 99 not in ys()
    assert 77 not in ys()
