"""mqtts://: the subscriber speaks TLS to the broker and checks its certificate against the
system's trusted authorities (here a test authority, named by SSL_CERT_FILE): a broker whose
certificate it cannot check is never trusted, one it can is subscribed to and its messages
stored."""

from __future__ import annotations

import pytest

from harness.live_server import new_user, wait_for


@pytest.fixture
def tls_broker(make_mosquitto, tls_files):
    return make_mosquitto(tls=tls_files)


def test_a_broker_over_tls_is_trusted_only_with_a_certificate_that_checks(integration_db, start_server, tls_broker):
    assert tls_broker.url().startswith("mqtts://")
    env = {"MQTT_URL": tls_broker.url(), "MQTT_RELOAD_EVERY": "0.5", "MQTT_RECONNECT_MAX": "1"}
    untrusting = start_server("mqtt-tls-untrusted", **env)
    wait_for(
        lambda: "CERTIFICATE_VERIFY_FAILED" in untrusting.log_text(),
        timeout=30,
        message="the certificate refused",
    )
    untrusting.stop(timeout=30)  # hands the lease over

    server = start_server("mqtt-tls", SSL_CERT_FILE=tls_broker.tls["ca"], **env)
    alice = new_user(integration_db.env, server.url)
    topic, _, plot = alice.make_mqtt_plot("lab")

    def published_until_stored() -> bool:
        tls_broker.publish(topic, "21.5")
        return 21.5 in alice.figure(plot["id"])["data"][0]["y"]

    wait_for(published_until_stored, timeout=30, interval=0.5, message="a message over TLS stored")
