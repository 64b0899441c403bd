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
    answer = as_alice.patch(url(token), {"mqtt_topic": "lab/+/temp/#"}, format="json")
    assert (answer.status_code, answer.json()["mqtt_topic"]) == (200, "lab/+/temp/#")
    assert as_alice.get(url(token)).json()["mqtt_topic"] == "lab/+/temp/#"
    assert as_alice.patch(url(token), {"mqtt_topic": ""}, format="json").json()["mqtt_topic"] == ""
    token.refresh_from_db()
    assert token.mqtt_topic == ""


@pytest.mark.parametrize(
    ("topic", "says"),
    [
        ("lab/#/temp", "'#' must be a whole level and the last one"),
        ("lab/temp#", "'#' must be a whole level and the last one"),
        ("lab/+x/temp", "'+' must be a whole level"),
        ("$SYS/broker/load", "topics beginning with $"),
        ("x" * 201, "at most 200 bytes"),
        # mosquitto drops the connection on these, every token's subscription with it
        ("a\x01b", "no control character, surrogate or Unicode noncharacter (U+0001 at character 2)"),
        ("a\tb", "(U+0009 at character 2)"),
        ("a\x7fb", "(U+007F at character 2)"),
        ("a\u0085b", "(U+0085 at character 2)"),
        ("a\ufdd0b", "(U+FDD0 at character 2)"),
        ("a\ufffeb", "(U+FFFE at character 2)"),
        ("a\U0010ffffb", "(U+10FFFF at character 2)"),
    ],
)
def test_a_topic_mqtt_does_not_allow_is_refused_with_what_is_wrong(as_alice, alice, topic, says):
    token = StreamToken.objects.create(owner=alice, mqtt_topic="kept")
    answer = as_alice.patch(url(token), {"mqtt_topic": topic}, format="json")
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["field"] == "mqtt_topic"
    assert says in error["message"]
    token.refresh_from_db()
    assert token.mqtt_topic == "kept"


def test_a_topic_past_mqtt_max_topics_is_refused(as_alice, alice, settings):
    settings.MQTT_MAX_TOPICS = 1
    StreamToken.objects.create(owner=alice, mqtt_topic="first")
    token = StreamToken.objects.create(owner=alice)
    answer = as_alice.patch(url(token), {"mqtt_topic": "second"}, format="json")
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
    assert as_bob.patch(url(token), {"mqtt_topic": "mine"}, format="json").status_code == 404
    assert StreamToken.objects.get(pk=token.pk).mqtt_topic == ""


def test_the_settings_page_sets_a_topic_and_says_what_is_wrong_with_a_bad_one(client, alice):
    token = StreamToken.objects.create(owner=alice)
    client.force_login(alice)
    path = f"/settings/tokens/{token.pk}/mqtt-topic/"
    page = client.post(path, {"mqtt_topic": " sensors/+/temp "}, follow=True).content.decode()
    assert "now takes the messages of MQTT topic sensors/+/temp" in page
    assert 'value="sensors/+/temp"' in page
    page = client.post(path, {"mqtt_topic": "sensors/#/temp"}, follow=True).content.decode()
    assert "must be a whole level and the last one" in page
    assert StreamToken.objects.get(pk=token.pk).mqtt_topic == "sensors/+/temp"
