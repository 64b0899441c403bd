"""A wrong MQTT_URL is refused naming the URL, but not its user and password: the message goes
to the log."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mqtt.subscriber import broker_of


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://plotserver:s3cret@broker:1883", "'http://…@broker:1883'"),
        ("mqtt://plotserver:s3cret@", "'mqtt://…@'"),
        ("tcp://broker", "'tcp://broker'"),
    ],
)
def test_a_wrong_url_is_named_without_its_user_and_password(url, shown):
    with pytest.raises(ImproperlyConfigured) as refused:
        broker_of(url)
    assert shown in str(refused.value)
    assert "s3cret" not in str(refused.value)
    assert "plotserver" not in str(refused.value)


def test_a_right_url_keeps_its_user_and_password():
    broker = broker_of("mqtts://plot%40server:s3cret%3A1@broker.example")
    assert (broker.hostname, broker.port, broker.username, broker.password, broker.tls) == (
        "broker.example",
        8883,
        "plot@server",
        "s3cret:1",
        True,
    )
