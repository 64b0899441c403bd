"""mqtts://: the subscriber speaks TLS to the broker and checks its certificate against the
system's trusted authorities (here a test authority, named by SSL_CERT_FILE): a broker whose
certificate it cannot check is never trusted, one it can is subscribed to and its messages
stored."""

from __future__ import annotations

import os
import uuid

import pytest

from harness.live_server import new_user, wait_for
from harness.mosquitto import MOSQUITTO, MOSQUITTO_PASSWD, Mosquitto


@pytest.fixture
def tls_broker(tmp_path):
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed, and CI must run every test (.ci/run installs it)")
        pytest.skip("needs mosquitto and mosquitto_passwd (Debian's mosquitto)")
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "cert.pem", "key": tmp_path / "key.pem"}
    ca.cert_pem.write_to_path(files["ca"])
    cert.private_key_pem.write_to_path(files["key"])
    for position, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(files["cert"], append=position > 0)
    broker = Mosquitto(tmp_path, tls={name: str(path) for name, path in files.items()}).start()
    yield broker
    broker.stop()


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
    topic = f"plotserver/{alice.username}/lab/{uuid.uuid4().hex[:8]}"
    stream = alice.make_stream("mqtt-tls")
    alice.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": topic})
    plot = alice.make_plot([stream["token"]])

    def published_until_stored() -> bool:
        tls_broker.publish(topic, "21.5")
        return 21.5 in alice.figure(plot["id"])["data"][0]["y"]

    wait_for(published_until_stored, timeout=30, interval=0.5, message="a message over TLS stored")
