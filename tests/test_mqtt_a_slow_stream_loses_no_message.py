"""A token's stream slower than its messages (its pace, STREAM_TOKEN_RATE) makes the writes time
out (LINEPROTO_WRITE_TIMEOUT) while the last one's lines are still being read: the messages of a
write that timed out before handing its lines over are written again, not dropped. Every message
published ends up accepted or counted as rejected on its token."""

from __future__ import annotations

from harness.live_server import new_user, wait_for

FIRST, SENT = 60, 80


def test_messages_that_come_while_a_slow_stream_reads_a_burst_are_all_stored(integration_db, start_server, mosquitto):
    server = start_server(
        "mqtt-slow",
        MQTT_URL=mosquitto.url(),
        MQTT_RELOAD_EVERY="0.5",
        STREAM_TOKEN_RATE="20",
        STREAM_TOKEN_BURST="1",
        LINEPROTO_WRITE_TIMEOUT="0.2",
    )
    alice = new_user(integration_db.env, server.url)
    topic, stream, plot = alice.make_mqtt_plot()

    def ys() -> list:
        return alice.figure(plot["id"])["data"][0]["y"]

    def published_until_stored() -> bool:
        mosquitto.publish(topic, "-1")
        return -1 in ys()

    wait_for(published_until_stored, timeout=30, interval=0.5, message="subscribed")
    client = mosquitto.client()
    try:
        # A burst read at the token's pace for seconds, and one more while it is being read: its
        # write waits for the first burst's lines and times out before handing its own over.
        for i in range(FIRST):
            client.publish(topic, str(i), qos=1).wait_for_publish(30)
        wait_for(lambda: 10 in ys(), timeout=30, interval=0.05, message="the first burst being read")
        for i in range(FIRST, SENT):
            client.publish(topic, str(i), qos=1).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
    wait_for(lambda: len([y for y in ys() if y != -1]) >= SENT, timeout=30, message=f"{SENT} messages stored")
    assert sorted(y for y in ys() if y != -1) == list(range(SENT))
    status = alice.stream_status(stream["token"])
    assert (status["accepted"] - ys().count(-1), status["rejected"]) == (SENT, 0)
