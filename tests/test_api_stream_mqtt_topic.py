"""A stream token's MQTT topic: set and cleared with PATCH /api/streams/<id>/ or on the settings
page, by its owner only; a topic filter MQTT does not allow is refused with what is wrong."""

from __future__ import annotations

import pytest

from core.models import StreamToken

pytestmark = pytest.mark.django_db


def url(token: StreamToken) -> str:
    return f"/api/streams/{token.pk}/"


def test_the_owner_sets_a_topic_with_wildcards_and_clears_it(as_alice, alice):
    token = StreamToken.objects.create(owner=alice)
    answer = as_alice.patch(url(token), {"mqtt_topic": "plotserver/alice/lab/+/temp/#"}, format="json")
    assert (answer.status_code, answer.json()["mqtt_topic"]) == (200, "plotserver/alice/lab/+/temp/#")
    assert as_alice.get(url(token)).json()["mqtt_topic"] == "plotserver/alice/lab/+/temp/#"
    assert as_alice.patch(url(token), {"mqtt_topic": ""}, format="json").json()["mqtt_topic"] == ""
    token.refresh_from_db()
    assert token.mqtt_topic == ""


@pytest.mark.parametrize(
    ("topic", "says"),
    [
        ("plotserver/alice/lab/#/temp", "'#' must be a whole level and the last one"),
        ("plotserver/alice/lab/temp#", "'#' must be a whole level and the last one"),
        ("plotserver/alice/lab/+x/temp", "'+' must be a whole level"),
        ("$SYS/broker/load", "topics beginning with $"),
        ("plotserver/alice/" + "x" * 201, "at most 200 bytes"),
        # mosquitto drops the connection on these, every token's subscription with it
        ("plotserver/alice/a\x01b", "no control character, surrogate or Unicode noncharacter (U+0001 at character 19)"),
        ("plotserver/alice/a\tb", "(U+0009 at character 19)"),
        ("plotserver/alice/a\x7fb", "(U+007F at character 19)"),
        ("plotserver/alice/a\u0085b", "(U+0085 at character 19)"),
        ("plotserver/alice/a\ufdd0b", "(U+FDD0 at character 19)"),
        ("plotserver/alice/a\ufffeb", "(U+FFFE at character 19)"),
        ("plotserver/alice/a\U0010ffffb", "(U+10FFFF at character 19)"),
    ],
)
def test_a_topic_mqtt_does_not_allow_is_refused_with_what_is_wrong(as_alice, alice, topic, says):
    token = StreamToken.objects.create(owner=alice, mqtt_topic="plotserver/alice/kept")
    answer = as_alice.patch(url(token), {"mqtt_topic": topic}, format="json")
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["field"] == "mqtt_topic"
    assert says in error["message"]
    token.refresh_from_db()
    assert token.mqtt_topic == "plotserver/alice/kept"


@pytest.mark.parametrize(
    "topic", ["#", "+/#", "plotserver/#", "plotserver/+/temp", "plotserver/alice/#", "plotserver/bob", "lab/temp"]
)
def test_a_topic_outside_the_owners_namespace_is_refused_with_the_beginning_it_needs(as_bob, bob, topic):
    token = StreamToken.objects.create(owner=bob)
    answer = as_bob.patch(url(token), {"mqtt_topic": topic}, format="json")
    assert answer.status_code == 400
    assert "a topic of yours begins with 'plotserver/bob/'" in answer.json()["errors"][0]["message"]
    token.refresh_from_db()
    assert token.mqtt_topic == ""


def test_the_namespace_begins_with_mqtt_topic_prefix(as_bob, bob, settings):
    settings.MQTT_TOPIC_PREFIX = "site/devices"
    token = StreamToken.objects.create(owner=bob)
    assert as_bob.patch(url(token), {"mqtt_topic": "plotserver/bob/x"}, format="json").status_code == 400
    answer = as_bob.patch(url(token), {"mqtt_topic": "site/devices/bob/x/#"}, format="json")
    assert (answer.status_code, answer.json()["mqtt_topic"]) == (200, "site/devices/bob/x/#")


def test_a_topic_past_mqtt_max_topics_is_refused(as_alice, alice, settings):
    settings.MQTT_MAX_TOPICS = 1
    StreamToken.objects.create(owner=alice, mqtt_topic="plotserver/alice/first")
    token = StreamToken.objects.create(owner=alice)
    answer = as_alice.patch(url(token), {"mqtt_topic": "plotserver/alice/second"}, format="json")
    assert answer.status_code == 400
    assert "MQTT_MAX_TOPICS" in answer.json()["errors"][0]["message"]


def test_a_tokens_string_never_changes(as_alice, alice):
    token = StreamToken.objects.create(owner=alice)
    answer = as_alice.patch(url(token), {"token": "k1x2c3v4b5z"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "token"
    assert StreamToken.objects.get(pk=token.pk).token == token.token


def test_another_users_token_is_not_found(as_bob, alice):
    token = StreamToken.objects.create(owner=alice)
    assert as_bob.patch(url(token), {"mqtt_topic": "plotserver/alice/mine"}, format="json").status_code == 404
    assert StreamToken.objects.get(pk=token.pk).mqtt_topic == ""


def test_the_settings_page_sets_a_topic_and_says_what_is_wrong_with_a_bad_one(client, alice):
    token = StreamToken.objects.create(owner=alice)
    client.force_login(alice)
    path = f"/settings/tokens/{token.pk}/mqtt-topic/"
    page = client.post(path, {"mqtt_topic": " plotserver/alice/sensors/+/temp "}, follow=True).content.decode()
    assert "now takes the messages of MQTT topic plotserver/alice/sensors/+/temp" in page
    assert 'value="plotserver/alice/sensors/+/temp"' in page
    page = client.post(path, {"mqtt_topic": "plotserver/alice/sensors/#/temp"}, follow=True).content.decode()
    assert "must be a whole level and the last one" in page
    assert StreamToken.objects.get(pk=token.pk).mqtt_topic == "plotserver/alice/sensors/+/temp"
