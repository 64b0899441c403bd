"""Plots and their traces (with the streamed windows they show), and Plotly's grids."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from base.fastjson import FastJSONDecoder, FastJSONEncoder
from core import quotas
from core.annotation_drawing import AnnotationData, drawn_in, shown
from core.figure_schema import without_tokens
from core.models.tokens import StreamToken
from core.models.windows import figure_of
from core.retention import HELP as RETENTION_HELP
from core.retention import WINDOW, validate_retention
from core.retention import server_default as default_retention
from core.sharing import PRIVATE, PUBLIC, SECRET, key_after_save, new_share_key, visible_rule
from core.signals import plot_changed

MAXPOINTS_DEFAULT = 500
MAXPOINTS_LIMIT = 10000
# Where Plot.renumber_traces parks a trace while indexes move.
PARKED_INDEX = 100000


class PlotQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser, share_key: str | None = None) -> PlotQuerySet:
        """The plots this visitor may see: the one sharing rule (core/sharing.py), used by the
        API, Plotly's routes, the pages and the viewer socket alike.

        Their own, the public ones, and a secret one when `share_key` is its key.
        """
        return self.filter(visible_rule(user, share_key))

    def visible_or_404(self, user: AbstractBaseUser | AnonymousUser, share_key: str | None, pk: object) -> Plot:
        """The plot `pk` (with its owner) if this visitor may see it; else Http404, the same for
        a plot that does not exist, one not shared with them, and an id that is not a number."""
        plot = None
        if str(pk).isdigit():
            plot = self.visible_to(user, share_key).select_related("owner").filter(pk=pk).first()
        if plot is None:
            raise Http404(Plot.NOT_VISIBLE)
        return plot

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
            transaction.on_commit(partial(plot_changed.send, sender=Plot, plot_id=plot_id))

    def remove(self) -> None:
        """Delete these plots, the one way: their viewers are told once the deletion commits
        (and leave, as the plots are gone), and the open streams of the tokens that fed only
        them end. See Plot.remove for one plot."""
        with transaction.atomic():
            self.changed()
            # Their traces locked too (after the plots, in the ingest commit's order): a commit
            # checkpointing one of them meanwhile would add a row the deletion did not see.
            traces = Trace.objects.select_for_update().filter(plot__in=self).order_by("plot_id", "index")
            token_ids = {token for token in traces.values_list("stream_token", flat=True) if token is not None}
            self.delete()
            StreamToken.end_streams_of_deleted_plots(token_ids)


class Plot(models.Model):
    PUBLIC, PRIVATE, SECRET = PUBLIC, PRIVATE, SECRET
    # What a visitor is told of a plot that does not exist or is not shared with them: the same.
    NOT_VISIBLE = "No such plot, or it is not shared with you."
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
        return self.title or f"Untitled plot #{self.pk}"

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
            quotas.check_new_plot(Plot.objects.filter(owner=self.owner).count())
        elif (
            key := key_after_save(self.sharing, getattr(self, "_stored_sharing", None), self.share_key)
        ) != self.share_key:
            self.share_key = key
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

    def remove(self) -> None:
        """Delete this plot (its traces with it), the one way: in one transaction with the
        revision bump, so its viewers are told once it is gone, and the streams that fed only
        it end (StreamToken.end_streams_of_deleted_plots)."""
        Plot.objects.filter(pk=self.pk).remove()

    def renumber_traces(self, traces: Iterable[Trace] | None = None) -> None:
        """Give this plot's traces the indexes 0, 1, 2, ... in the order of `traces` (all of
        them, in their present order, when None): indexes stay dense, as Plotly addresses
        traces by position. The one renumbering rule.

        Only the `index` of a stored trace is written (by UPDATE, never a save that would write
        back a window read earlier); each instance's `index` is set, so one not yet stored is
        saved at its place by the caller. Call it in the edit's transaction, after
        `changed()`."""
        ordered = list(self.traces.order_by("index") if traces is None else traces)
        moving = [(index, trace) for index, trace in enumerate(ordered) if trace.index != index]
        # Park every stored trace that moves out of the way first: (plot, index) is unique.
        for offset, (_, trace) in enumerate(moving):
            if trace.pk is not None:
                Trace.objects.filter(pk=trace.pk).update(index=PARKED_INDEX + offset)
        for index, trace in moving:
            if trace.pk is not None:
                Trace.objects.filter(pk=trace.pk).update(index=index)
            trace.index = index

    def get_absolute_url(self) -> str:
        return reverse("plot-detail", kwargs={"username": self.owner.get_username(), "pk": self.pk})

    def embed_path(self) -> str:
        return reverse("plot-embed", kwargs={"username": self.owner.get_username(), "pk": self.pk})

    def viewer_figure(self) -> dict:
        """The figure as a viewer sees it now: streamed windows in the data, no tokens, the
        plot's annotations drawn in its layout (the stored layout is not changed).

        No token string of the owner's, wherever it was put (figures are checked when saved;
        this also covers what was stored before, or a token named after a value later)."""
        tokens = StreamToken.objects.strings_of(self.owner_id)
        return without_tokens(drawn_in(figure_of(self), self.annotation_list(tokens)), tokens)

    def annotation_list(self, tokens: set[str] | None = None) -> list[AnnotationData]:
        """The plot's annotations (docs/annotations.md), oldest first, as viewers get them: none
        holding a token string of the owner's (`tokens`, read when not given)."""
        if tokens is None:
            tokens = StreamToken.objects.strings_of(self.owner_id)
        return shown([a.as_dict() for a in self.annotations.of_plot(self.pk)], tokens)


class TraceQuerySet(models.QuerySet):
    def keeping_history(self) -> TraceQuerySet:
        """The traces whose history is kept: the one rule, used by folding, pruning, range
        reads and the runs' listing alike. A trace keeps history when it is streamed and its
        plot keeps more than its window (retention other than "window")."""
        return self.filter(stream_token__isnull=False).exclude(plot__retention=WINDOW)


class Trace(models.Model):
    """One trace of a plot: its Plotly spec (with the current window of data) and its stream."""

    objects = TraceQuerySet.as_manager()

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

    @classmethod
    def check_quotas(cls, plot_id: int | None, trace_count: int, token_ids: Iterable[int | None]) -> None:
        """A plot about to have `trace_count` traces, bound to `token_ids` (one per trace, None
        for unbound): within the quotas (core/quotas.py)? `plot_id` is the plot whose traces
        these replace (their old bindings do not count)."""
        wanted = Counter(token_id for token_id in token_ids if token_id is not None)
        elsewhere = cls.objects.filter(stream_token_id__in=wanted)
        if plot_id is not None:
            elsewhere = elsewhere.exclude(plot_id=plot_id)
        bound = Counter(elsewhere.values_list("stream_token_id", flat=True)) if wanted else Counter()
        quotas.check_traces(trace_count, wanted, bound)

    @property
    def keeps_history(self) -> bool:
        """Whether this trace's history is kept: TraceQuerySet.keeping_history, for one trace
        whose plot is loaded."""
        return self.stream_token_id is not None and self.plot.retention != WINDOW

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
    traces when the plot is saved (web/plotly_api/grids.py), so the grid itself is kept only for
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
