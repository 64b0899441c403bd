"""Who may write and read through the API: API keys, and the stream tokens producers send."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from functools import partial
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from base import metrics
from core import quotas
from core.signals import token_plot_deleted, token_revoked

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{10,64}$")

# An MQTT topic filter's longest form here (MQTT allows 65535 bytes; a subscription is one row).
MQTT_TOPIC_MAX = 200


# What MQTT 3.1.1 (1.5.3) lets a broker refuse in a topic, and mosquitto does (it drops the whole
# connection, every other token's subscription with it): C0 and C1 controls, surrogates and
# Unicode noncharacters. NUL has its own message below.
_REFUSED_CHARACTERS = re.compile(
    "[\x01-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)


class BadTopic(ValueError):
    """An MQTT topic filter the broker would refuse: the message says what is wrong."""


def topic_namespace(username: str) -> str:
    """How every topic filter of a user's tokens begins: the server reads the broker with one
    credential, so without it one user's `#` would take every other user's messages."""
    return f"{settings.MQTT_TOPIC_PREFIX}/{username}/"


def check_mqtt_topic(topic: str, username: str) -> str:
    """The topic filter a token of `username`'s subscribes to (mqtt/), as MQTT 3.1.1 (4.7)
    allows it (`+` a whole level, `#` a whole last level) and inside the owner's namespace; ""
    for none. The one home of this rule: the API and the settings page both go through it."""
    if topic == "":
        return topic
    if len(topic.encode()) > MQTT_TOPIC_MAX:
        raise BadTopic(f"a topic is at most {MQTT_TOPIC_MAX} bytes")
    if "\x00" in topic:
        raise BadTopic("a topic holds no NUL character")
    if refused := _REFUSED_CHARACTERS.search(topic):
        raise BadTopic(
            f"a topic holds no control character, surrogate or Unicode noncharacter "
            f"(U+{ord(refused.group()):04X} at character {refused.start() + 1})"
        )
    if topic.startswith("$"):
        raise BadTopic("topics beginning with $ are the broker's own ($SYS): not subscribed to here")
    levels = topic.split("/")
    for number, level in enumerate(levels, start=1):
        if "#" in level and (level != "#" or number != len(levels)):
            raise BadTopic(f"'#' must be a whole level and the last one (level {number}: {level!r})")
        if "+" in level and level != "+":
            raise BadTopic(f"'+' must be a whole level (level {number}: {level!r})")
    namespace = topic_namespace(username)
    if not topic.startswith(namespace):
        raise BadTopic(f"a topic of yours begins with {namespace!r} (MQTT_TOPIC_PREFIX, then your username)")
    return topic


def check_topic_room(token_id: int | None) -> None:
    """A token may take a topic while the server subscribes to fewer than MQTT_MAX_TOPICS."""
    others = StreamToken.objects.filter(revoked__isnull=True).exclude(mqtt_topic="").exclude(pk=token_id)
    if others.count() >= settings.MQTT_MAX_TOPICS:
        raise BadTopic(f"the server subscribes to at most {settings.MQTT_MAX_TOPICS} topics (MQTT_MAX_TOPICS)")


def isostring(moment: datetime | None) -> str | None:
    """The one time format of plotserver's JSON: ISO 8601, UTC written as `Z` (as the REST
    API's own date fields are), None for no time."""
    if moment is None:
        return None
    text = moment.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


# A key a user brings over (ApiKey.issue): Plotly's were 10 or more letters and digits.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{10,128}$")


class BadKey(ValueError):
    """A key brought over that cannot be used; the message says why."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A user's one API key. Only its SHA-256 is stored: the key is shown once, when made.

    A key plotserver makes is a 256-bit random string, so a fast hash is enough (as for any
    bearer token); a password hasher would cost hundreds of milliseconds on every API call. A
    key the user brought over (`brought`: a Plotly API key, 10 characters and up) is weaker: it
    signs in only beside its user's name (HTTP Basic, /clientresp's `un`), where failed attempts
    are throttled, never alone as a bearer key, and keeps only 2 characters as its prefix.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_key")
    key_hash = models.CharField(max_length=64, db_index=True)  # Bearer keys are looked up by it
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell keys apart.")
    brought = models.BooleanField(default=False, help_text="The user's own key, not one plotserver made.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.user} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: AbstractBaseUser, brought: str | None = None) -> str:
        """Make (or replace) the user's key and return it in the clear, the only time it is.

        `brought`: a key of the user's own instead of a random one, such as the Plotly API key
        a board's firmware keeps (KEY_PATTERN; BadKey says why one cannot be used)."""
        key = secrets.token_urlsafe(32) if brought is None else cls._check_brought(brought)
        shown = key[:2] if brought else key[:6]
        cls.objects.update_or_create(
            user=user,
            defaults={"key_hash": _digest(key), "prefix": shown, "brought": bool(brought), "created": timezone.now()},
        )
        return key

    @staticmethod
    def _check_brought(key: str) -> str:
        if not KEY_PATTERN.match(key):
            raise BadKey(
                "A key brought over is 10 to 128 letters, digits, '-' or '_' (a Plotly API key is 10 or more)."
            )
        return key

    @classmethod
    def user_for(cls, username: str, key: str) -> AbstractBaseUser | None:
        api_key = cls.objects.select_related("user").filter(user__username=username).first()
        if api_key is None or not hmac.compare_digest(api_key.key_hash, _digest(key)):
            return None
        return api_key.user if api_key.user.is_active else None

    @classmethod
    def user_for_key(cls, key: str) -> AbstractBaseUser | None:
        """The active user whose key this is, from the key alone (`Authorization: Bearer KEY`): keys
        plotserver made are random and 256 bits long, so no two users' keys share a hash; a key
        brought over never signs in alone."""
        api_key = cls.objects.select_related("user").filter(key_hash=_digest(key), brought=False).first()
        return api_key.user if api_key is not None and api_key.user.is_active else None


class LastError(TypedDict):
    line: int | None
    message: str
    at: str | None


class TokenStatus(TypedDict):
    """A stream token's status as JSON: the REST API and the settings page show this shape.
    The one list of its fields (TOKEN_STATUS_FIELDS, in this order): each is also a column of
    StreamToken."""

    revoked: str | None
    connected: bool
    connected_since: str | None
    remote_addr: str
    last_write_at: str | None
    accepted: int
    rejected: int
    last_error: LastError | None
    takeovers: int
    last_seq: int


TOKEN_STATUS_FIELDS: tuple[str, ...] = tuple(TokenStatus.__annotations__)


def new_token_string() -> str:
    """24 random bytes: 192 bits, URL-safe, 32 characters. Never one that begins with "-", which
    a command line (`plotserver-stream --token TOKEN`, curl, ...) would read as an option."""
    while (token := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return token


class StreamTokenQuerySet(models.QuerySet):
    def strings_of(self, owner_id: int | None) -> set[str]:
        """The token strings this user owns, revoked ones too: the one answer to "which strings
        may never show in a figure" (what a viewer is shown, and what a figure may hold when
        saved). None (no user, or an anonymous one) owns none."""
        if owner_id is None:
            return set()
        return set(self.filter(owner_id=owner_id).values_list("token", flat=True))


class StreamToken(models.Model):
    """The credential a producer sends in `plotly-streamtoken`, and the live state of its stream.

    A token may drive several traces, in one plot or several. The status fields are written
    by the ingest batches (see streaming/store.py), never by a request handler.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stream_tokens")
    token = models.CharField(max_length=64, unique=True, default=new_token_string)
    name = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(default=timezone.now)
    revoked = models.DateTimeField(null=True, blank=True)
    plot_deleted = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the last plot it fed was deleted: its stream ended then, and a new one is refused "
        "(410) while no trace uses the token.",
    )

    connected = models.BooleanField(default=False)
    holder = models.CharField(max_length=32, blank=True, help_text="The open connection that holds the stream.")
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="The holding process renews this while it lives; a crashed one stops."
    )
    connected_since = models.DateTimeField(null=True, blank=True)
    remote_addr = models.CharField(max_length=100, blank=True)
    last_write_at = models.DateTimeField(null=True, blank=True)
    accepted = models.BigIntegerField(default=0, help_text="Lines accepted, over the token's life.")
    rejected = models.BigIntegerField(default=0, help_text="Lines rejected, over the token's life.")
    last_error = models.TextField(blank=True)
    last_error_line = models.BigIntegerField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    takeovers = models.IntegerField(default=0, help_text="Connections closed because a newer one came.")
    last_seq = models.BigIntegerField(default=0, help_text="Sequence number of the newest update.")
    # The resume mark (docs/streaming.md, "Resuming after a crash"): the producer's stream id and
    # the number of its last line stored, written by the commit that stores that line.
    resume_stream = models.CharField(
        max_length=64, blank=True, help_text="The stream id (plotserver-resume header) of the last lines stored."
    )
    resume_line = models.BigIntegerField(
        default=0, help_text="The number, in that stream, of the last line stored (accepted or rejected)."
    )
    mqtt_topic = models.CharField(
        max_length=MQTT_TOPIC_MAX,
        blank=True,
        help_text="The MQTT topic filter (wildcards + and #) whose messages are lines of this token's stream "
        "(MQTT_URL, docs/ingest.md); empty for none.",
    )

    objects = StreamTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name or f"{self.token[:6]}…"

    def save(self, *args, **kwargs) -> None:
        if self._state.adding:
            quotas.check_new_token(StreamToken.objects.filter(owner=self.owner, revoked__isnull=True).count())
        super().save(*args, **kwargs)

    @staticmethod
    def live(prefix: str = "") -> models.Q:
        """The query form of is_connected, for filters: `prefix` leads to the token."""
        return models.Q(**{f"{prefix}connected": True, f"{prefix}lease_until__gt": timezone.now()})

    @property
    def is_connected(self) -> bool:
        return self.connected and self.lease_until is not None and self.lease_until > timezone.now()

    @property
    def is_revoked(self) -> bool:
        return self.revoked is not None

    def status(self) -> TokenStatus:
        """The live state of the token's stream, as every place that shows it renders it."""
        last_error: LastError | None = None
        if self.last_error:
            last_error = {"line": self.last_error_line, "message": self.last_error, "at": isostring(self.last_error_at)}
        return {
            "connected": self.is_connected,
            "revoked": isostring(self.revoked),
            "connected_since": isostring(self.connected_since),
            "remote_addr": self.remote_addr,
            "last_write_at": isostring(self.last_write_at),
            "accepted": self.accepted,
            "rejected": self.rejected,
            "last_error": last_error,
            "takeovers": self.takeovers,
            "last_seq": self.last_seq,
        }

    @classmethod
    def end_streams_of_deleted_plots(cls, token_ids: set[int]) -> None:
        """The plots that these tokens fed are being deleted, in the current transaction, their
        traces already gone: each token that now feeds no trace is marked, and once the deletion
        commits its open stream ends (410, "the plot was deleted"), on whichever process holds it.
        A token that still feeds another plot streams on: its points still show there."""
        orphaned = list(
            cls.objects.filter(pk__in=token_ids, revoked__isnull=True, traces__isnull=True).values_list("pk", flat=True)
        )
        if not orphaned:
            return
        cls.objects.filter(pk__in=orphaned).update(plot_deleted=timezone.now())
        for token_id in orphaned:
            transaction.on_commit(partial(token_plot_deleted.send, sender=StreamToken, token_id=token_id))

    def revoke(self) -> None:
        """Refuse new streams and end the open one (410), on whichever process holds it."""
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])
            metrics.REVOCATIONS.inc()
        token_id = self.pk
        transaction.on_commit(lambda: token_revoked.send(sender=StreamToken, token_id=token_id))


@receiver(pre_delete, sender=StreamToken)
def revoke_before_delete(sender, instance: StreamToken, **kwargs) -> None:
    """A token deleted (by the admin, or with its owner) is a token revoked: its open stream
    ends with 410, by the one rule."""
    instance.revoke()
