"""What plotserver stores: API keys, stream tokens, plots and their traces."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from functools import partial
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from history.retention import HELP as RETENTION_HELP
from history.retention import server_default as default_retention
from history.retention import validate_retention
from operations import metrics
from plots.quotas import check_new_plot, check_new_token
from plotserver.fastjson import FastJSONDecoder, FastJSONEncoder
from streaming.events import announce_plot_changed, announce_revoked

MAXPOINTS_DEFAULT = 500
MAXPOINTS_LIMIT = 10000
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{10,64}$")


def isostring(moment: datetime | None) -> str | None:
    """The one time format of plotserver's JSON: ISO 8601, UTC written as `Z` (as the REST
    API's own date fields are), None for no time."""
    if moment is None:
        return None
    text = moment.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


def new_share_key() -> str:
    # The field's default, secrets.token_urlsafe(): 32 random bytes, 43 characters.
    return secrets.token_urlsafe()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A user's one API key. Only its SHA-256 is stored: the key is shown once, when made.

    Keys are 256-bit random strings, so a fast hash is enough (as for any bearer token);
    a password hasher would cost hundreds of milliseconds on every API call.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_key")
    key_hash = models.CharField(max_length=64)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell keys apart.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.user} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: AbstractBaseUser) -> str:
        """Make (or replace) the user's key and return it in the clear, the only time it is."""
        key = secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            user=user, defaults={"key_hash": _digest(key), "prefix": key[:6], "created": timezone.now()}
        )
        return key

    @classmethod
    def user_for(cls, username: str, key: str) -> AbstractBaseUser | None:
        api_key = cls.objects.select_related("user").filter(user__username=username).first()
        if api_key is None or not hmac.compare_digest(api_key.key_hash, _digest(key)):
            return None
        return api_key.user if api_key.user.is_active else None


class LastError(TypedDict):
    line: int | None
    message: str
    at: str | None


class TokenStatus(TypedDict):
    """A stream token's status as JSON: the REST API and the settings page show this shape."""

    connected: bool
    revoked: str | None
    connected_since: str | None
    remote_addr: str
    last_write_at: str | None
    accepted: int
    rejected: int
    last_error: LastError | None
    takeovers: int
    last_seq: int


def new_token_string() -> str:
    """24 random bytes: 192 bits, URL-safe, 32 characters. Never one that begins with "-", which
    a command line (`plotserver-stream --token TOKEN`, curl, ...) would read as an option."""
    while (token := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return token


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

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name or f"{self.token[:6]}…"

    def save(self, *args, **kwargs) -> None:
        if self._state.adding:
            check_new_token(self.owner)
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

    def revoke(self) -> None:
        """Refuse new streams and end the open one (410), on whichever process holds it."""
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])
            metrics.REVOCATIONS.inc()
        token_id = self.pk
        transaction.on_commit(lambda: announce_revoked(token_id))


@receiver(pre_delete, sender=StreamToken)
def revoke_before_delete(sender, instance: StreamToken, **kwargs) -> None:
    """A token deleted (by the admin, or with its owner) is a token revoked: its open stream
    ends with 410, by the one rule."""
    instance.revoke()


class PlotQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser, share_key: str | None = None) -> PlotQuerySet:
        """The plots this visitor may see: the one sharing rule, used by the API, Plotly's
        routes, the pages and the viewer socket alike.

        Their own, the public ones, and a secret one when `share_key` is its key. The database
        compares the key, not in constant time; a share key is 256 random bits.
        """
        rule = models.Q(sharing=Plot.PUBLIC)
        if user.is_authenticated:
            rule |= models.Q(owner_id=user.pk)
        if share_key:
            rule |= models.Q(sharing=Plot.SECRET, share_key=share_key)
        return self.filter(rule)

    def changed(self) -> None:
        """These plots or their traces were edited (or are being deleted): bump their revisions
        in the current transaction and, once it commits, tell their viewers, who then take a
        fresh snapshot (or leave, if they may no longer see the plot).

        Call it inside the edit's transaction, before its traces are written: it locks the
        plots first, in the order the ingest commit locks them (plots, then traces), so the two
        cannot deadlock. A viewer coming back with an older revision resyncs."""
        plot_ids = list(self.values_list("pk", flat=True))  # the queryset may be annotated
        with transaction.atomic():
            locked = Plot.objects.select_for_update().filter(pk__in=plot_ids).order_by("pk")
            plot_ids = list(locked.values_list("pk", flat=True))
            Plot.objects.filter(pk__in=plot_ids).update(revision=models.F("revision") + 1)
        for plot_id in plot_ids:
            transaction.on_commit(partial(announce_plot_changed, plot_id))


class Plot(models.Model):
    PUBLIC, PRIVATE, SECRET = "public", "private", "secret"
    SHARING_CHOICES = [
        (PUBLIC, "Public: anyone may view"),
        (PRIVATE, "Private: only the owner"),
        (SECRET, "Secret: anyone with the link and its share key"),
    ]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plots")
    title = models.CharField(max_length=200, blank=True)
    folder = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Where Plotly's clients filed it: 'a/b' for filename 'a/b/title'; empty at the top.",
    )
    layout = models.JSONField(default=dict, blank=True, decoder=FastJSONDecoder)
    sharing = models.CharField(max_length=7, choices=SHARING_CHOICES, default=PUBLIC)
    share_key = models.CharField(max_length=43, default=secrets.token_urlsafe, editable=False)
    retention = models.CharField(
        max_length=40,
        default=default_retention,
        validators=[validate_retention],
        help_text=f"What is kept of the streamed points (docs/history.md): {RETENTION_HELP}",
    )
    revision = models.PositiveIntegerField(
        default=0, editable=False, help_text="Grows with every edit of the plot or its traces (not with streamed data)."
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    objects = PlotQuerySet.as_manager()

    class Meta:
        ordering = ["-updated"]

    def __str__(self) -> str:
        return self.title or f"Plot {self.pk}"

    @classmethod
    def from_db(cls, db, field_names, values):
        plot = super().from_db(db, field_names, values)
        if "sharing" in plot.__dict__:  # not when the field was deferred
            plot._stored_sharing = plot.sharing
        return plot

    def save(self, *args, **kwargs) -> None:
        """Quotas for a new plot; a fresh share key whenever the plot becomes secret, so a
        link handed out before (secret, then private, then secret again) stops working."""
        if self._state.adding:
            check_new_plot(self.owner)
        elif self.sharing == self.SECRET and getattr(self, "_stored_sharing", self.SECRET) != self.SECRET:
            self.share_key = new_share_key()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "share_key"}
        super().save(*args, **kwargs)
        self._stored_sharing = self.sharing

    def rotate_share_key(self) -> str:
        """A new share key for a secret plot: the old link stops working at once, for open
        viewers too (they are told the plot changed, and the old key no longer admits them)."""
        with transaction.atomic():
            self.changed()
            self.share_key = new_share_key()
            self.save(update_fields=["share_key", "updated"])
        return self.share_key

    def changed(self) -> None:
        """This plot or its traces were edited: see PlotQuerySet.changed (the one way to say so)."""
        Plot.objects.filter(pk=self.pk).changed()
        # A later save() of this instance writes every field: it must not write the old revision back.
        self.refresh_from_db(fields=["revision"])

    def get_absolute_url(self) -> str:
        return reverse("plot-detail", kwargs={"username": self.owner.get_username(), "pk": self.pk})

    def embed_path(self) -> str:
        return reverse("plot-embed", kwargs={"username": self.owner.get_username(), "pk": self.pk})

    def viewer_figure(self) -> dict:
        """The figure as a viewer sees it now: streamed windows in the data, no tokens.

        No token string of the owner's, wherever it was put (figures are checked when saved;
        this also covers what was stored before, or a token named after a value later)."""
        from plots.figure_schema import without_tokens
        from streaming.snapshots import figure_of

        tokens = set(StreamToken.objects.filter(owner_id=self.owner_id).values_list("token", flat=True))
        return without_tokens(figure_of(self), tokens)


class Trace(models.Model):
    """One trace of a plot: its Plotly spec (with the current window of data) and its stream."""

    plot = models.ForeignKey(Plot, on_delete=models.CASCADE, related_name="traces")
    index = models.PositiveIntegerField()
    spec = models.JSONField(
        default=dict,
        blank=True,
        encoder=FastJSONEncoder,
        decoder=FastJSONDecoder,
        help_text="Plotly trace attributes, without `stream`.",
    )
    stream_token = models.ForeignKey(
        StreamToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="traces"
    )
    maxpoints = models.PositiveIntegerField(
        default=MAXPOINTS_DEFAULT, validators=[MinValueValidator(0), MaxValueValidator(MAXPOINTS_LIMIT)]
    )

    class Meta:
        ordering = ["plot", "index"]
        constraints = [models.UniqueConstraint(fields=["plot", "index"], name="unique_trace_index")]

    def __str__(self) -> str:
        return f"{self.plot} trace {self.index}"

    def plotly_spec(self) -> dict:
        """The trace as its owner wrote it, Plotly's way: the spec plus `stream`."""
        spec = dict(self.spec)
        if self.stream_token is not None:  # no query when there is none
            spec["stream"] = {"token": self.stream_token.token, "maxpoints": self.maxpoints}
        return spec


class Grid(models.Model):
    """A table of named columns, as Plotly's Python client uploads a figure's arrays.

    chart_studio moves every array of a figure into a grid and sends the plot with `xsrc`
    references (`owner:grid_id:column_uid`); plotserver copies the data back into the plot's
    traces when the plot is saved (plots/plotly_api/grids.py), so the grid itself is kept only for
    the clients that read it again.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grids")
    filename = models.CharField(max_length=200, blank=True)
    folder = models.CharField(max_length=255, blank=True)
    columns = models.JSONField(
        default=list, blank=True, decoder=FastJSONDecoder, help_text='[{"name", "uid", "order", "data"}, ...]'
    )
    world_readable = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["owner", "folder", "filename"])]

    def __str__(self) -> str:
        return self.filename or f"Grid {self.pk}"
