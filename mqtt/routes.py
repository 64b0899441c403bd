"""Which tokens take an MQTT message: the subscriptions as the database holds them (each inside
its owner's namespace), the tokens a topic feeds, and the status of a topic the broker refused."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiomqtt
from django.conf import settings
from django.utils import timezone

from base.rate_limited_log import RateLimitedLog
from core.models import StreamToken
from core.models.tokens import topic_namespace

_failures = RateLimitedLog(logging.getLogger("plotserver.mqtt"))


@dataclass(frozen=True, slots=True)
class Subscription:
    token_id: int
    token: str
    topic: str


def load_subscriptions() -> list[Subscription]:
    """The topics of the tokens that may stream (not revoked, their plot not deleted), the
    oldest MQTT_MAX_TOPICS of them (the API refuses more: core.models.tokens.check_topic_room).
    A topic outside its owner's namespace (set before there were namespaces, or with another
    MQTT_TOPIC_PREFIX) is not subscribed to: it could take other users' messages."""
    rows = (
        StreamToken.objects.filter(revoked__isnull=True, plot_deleted__isnull=True)
        .exclude(mqtt_topic="")
        .order_by("pk")
        .values_list("pk", "token", "mqtt_topic", "owner__username")
    )
    subscriptions = []
    for pk, token, topic, username in rows[: settings.MQTT_MAX_TOPICS]:
        if topic.startswith(topic_namespace(username)):
            subscriptions.append(Subscription(pk, token, topic))
        else:
            _failures.warning("namespace", f"token {pk}'s MQTT topic {topic!r} is outside {username}'s namespace")
    return subscriptions


def refused(code: Any) -> bool:
    """A SUBACK's code for one filter is a failure: 0x80 (or a ReasonCode saying so)."""
    return bool(code.is_failure) if hasattr(code, "is_failure") else int(code) >= 0x80


def refused_topics(subscriptions: list[Subscription], refused: list[str]) -> None:
    """The tokens whose topic the broker refused say so in their status (last_error)."""
    for topic in refused:
        ids = [sub.token_id for sub in subscriptions if sub.topic == topic]
        StreamToken.objects.filter(pk__in=ids).update(
            last_error=f"the MQTT broker refused to subscribe to {topic!r} (its access rules, or its limits)",
            last_error_line=None,
            last_error_at=timezone.now(),
        )


class Routes:
    """Which tokens a message's topic feeds: filters without wildcards looked up, the others matched."""

    def __init__(self, subscriptions: list[Subscription]) -> None:
        self.subscriptions = subscriptions
        self.exact: dict[str, list[Subscription]] = {}
        self.wild: list[tuple[aiomqtt.Wildcard, Subscription]] = []
        for sub in subscriptions:
            if "+" in sub.topic or "#" in sub.topic:
                self.wild.append((aiomqtt.Wildcard(sub.topic), sub))
            else:
                self.exact.setdefault(sub.topic, []).append(sub)

    @property
    def filters(self) -> set[str]:
        return {sub.topic for sub in self.subscriptions}

    def of(self, topic: aiomqtt.Topic) -> list[Subscription]:
        found = self.exact.get(topic.value, [])
        if self.wild:
            found = found + [sub for wildcard, sub in self.wild if topic.matches(wildcard)]
        return found
