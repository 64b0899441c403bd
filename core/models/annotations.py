"""Annotations: events (at an x) and spans (x to x_end) marked on a plot, with a text.

Kept beside the plot, never in its stored layout: viewers get them with their snapshot and live
as they change (core.signals.annotation_changed, which the live side relays), and the figure a
viewer reads carries them drawn as Plotly shapes and annotations (core/annotation_drawing.py). docs/annotations.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from base.fastjson import FastJSONDecoder, FastJSONEncoder
from core.annotation_drawing import AnnotationData
from core.annotation_fields import (
    AnnotationInvalid,
    check_color,
    check_room,
    check_span,
    check_text,
    check_x,
)
from core.figure_schema import token_paths
from core.models.plots import Plot, Trace
from core.models.tokens import StreamToken, isostring
from core.retention import parse_retention
from core.signals import annotation_changed

# What viewers are shown never holds a token string of the plot owner's (the rule of figures,
# core/figure_schema.py token_paths): an annotation holding one is refused, or not shown.
TOKEN_REFUSED = "holds one of the plot owner's stream tokens, which every viewer would see"
# The fields an edit changes (the rest say where it came from).
EDITABLE = ("x", "x_end", "text", "trace", "color")


class AnnotationQuerySet(models.QuerySet):
    def of_plot(self, plot_id: int) -> AnnotationQuerySet:
        """A plot's annotations, oldest first."""
        return self.filter(plot_id=plot_id).order_by("pk")

    def expired_on(self, plot_id: int, retention: str, now: datetime) -> AnnotationQuerySet:
        """What the plot's retention lets go of its annotations (docs/annotations.md): on a
        duration plot, those older than its duration (through the (plot, created) index); on a
        point-count plot, those a stream made on a line no longer among the newest that many
        lines of it; on a "window" plot, those a stream made on a line no longer among the
        newest `maxpoints` lines of it (the largest of the plot's traces it feeds). A "forever"
        plot, and annotations made through the API on any but a duration plot, are kept."""
        parsed = parse_retention(retention)
        mine = self.filter(plot_id=plot_id)
        if parsed.kind == "duration":
            return mine.filter(created__lt=now - timedelta(seconds=parsed.seconds))
        if parsed.kind == "points":
            return mine.filter(seq__isnull=False, seq__lte=models.F("stream__last_seq") - parsed.points)
        if parsed.kind != "window":
            return mine.none()
        traces = Trace.objects
        kept = (
            traces.filter(plot_id=plot_id, stream_token__isnull=False)
            .values_list("stream_token_id")
            .annotate(most=models.Max("maxpoints"))
            .order_by()
        )
        rule = models.Q(pk__in=[])
        for token_id, most in kept:
            rule |= models.Q(stream_id=token_id, seq__lte=models.F("stream__last_seq") - most)
        return mine.filter(seq__isnull=False).filter(rule)

    def remove(self) -> int:
        """Delete these annotations; each plot's viewers are told once they are gone, in one
        message per plot. How many went."""
        with transaction.atomic():
            by_plot: dict[int, list[int]] = {}
            for pk, plot_id in self.order_by("pk").values_list("pk", "plot_id"):
                by_plot.setdefault(plot_id, []).append(pk)
            for plot_id, ids in by_plot.items():
                Annotation.objects.filter(pk__in=ids).delete()
                transaction.on_commit(partial(annotation_changed.send, sender=Annotation, plot_id=plot_id, deleted=ids))
        return sum(len(ids) for ids in by_plot.values())

    def plots_to_expire(self) -> list[tuple[int, str]]:
        """(plot id, retention) of every plot holding annotations whose retention may let some
        go: one row per plot, never per annotation."""
        rows = self.order_by().values_list("plot_id", "plot__retention").distinct()
        return sorted((plot, retention) for plot, retention in rows if parse_retention(retention).kind != "forever")


class Annotation(models.Model):
    plot = models.ForeignKey("plots.Plot", on_delete=models.CASCADE, related_name="annotations")
    x = models.JSONField(encoder=FastJSONEncoder, decoder=FastJSONDecoder, help_text="Where: a number or a date.")
    x_end = models.JSONField(
        null=True,
        blank=True,
        encoder=FastJSONEncoder,
        decoder=FastJSONDecoder,
        help_text="A span's end; null: an event.",
    )
    text = models.TextField()
    trace = models.PositiveIntegerField(null=True, blank=True, help_text="The index of the trace it is about, if one.")
    color = models.CharField(max_length=64, blank=True)
    stream = models.ForeignKey(
        "plots.StreamToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The stream whose line made it, if one.",
    )
    seq = models.BigIntegerField(null=True, blank=True, help_text="The sequence number of that line.")
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["plot", "pk"]
        indexes = [models.Index(fields=["plot", "created"])]

    def __str__(self) -> str:
        return f"{self.text[:40]} at {self.x}"

    # -- the actions ---------------------------------------------------------------------------

    @classmethod
    def add(cls, plot_id: int, fields: dict[str, Any]) -> Annotation:
        """A new annotation on the plot, its fields checked (AnnotationInvalid names the one
        that is wrong, the plot's count included); its viewers are told once it is stored."""
        annotation = cls(plot_id=plot_id)
        with transaction.atomic():
            # The plot's row locked: two writers racing for the last place cannot both take it,
            # and a plot deleted meanwhile is told as such (DoesNotExist), not as a foreign key.
            if not Plot.objects.select_for_update().filter(pk=plot_id).exists():
                raise Plot.DoesNotExist(f"plot {plot_id} was deleted")
            check_room(plot_id, 1, cls.objects.filter(plot_id=plot_id).count())
            annotation.assign_checked(fields)
            annotation.save()
            annotation._announce_on_commit()
        return annotation

    def edit(self, fields: dict[str, Any]) -> None:
        """Change some fields (PATCH), checked as a whole against the stored row, locked; viewers
        are told once it is stored. Annotation.DoesNotExist when it was deleted meanwhile (by
        the API, retention or its plot's deletion): an edit never brings it back."""
        with transaction.atomic():
            stored = Annotation.objects.select_for_update().filter(pk=self.pk).first()
            if stored is None:
                raise Annotation.DoesNotExist(f"annotation {self.pk} was deleted")
            self.assign_checked({**stored._fields(), **fields})
            self.save(update_fields=[*EDITABLE, "updated"])
            self._announce_on_commit()

    def remove(self) -> None:
        """Delete it; viewers are told once it is gone."""
        plot_id, pk = self.plot_id, self.pk
        with transaction.atomic():
            self.delete()
            transaction.on_commit(partial(annotation_changed.send, sender=Annotation, plot_id=plot_id, deleted=[pk]))

    @classmethod
    def expire(cls, plot_id: int, retention: str, now: datetime, limit: int) -> int:
        """Delete up to `limit` of the plot's annotations that its retention lets go, in one
        transaction; its viewers are told once they are gone (one message). How many went."""
        with transaction.atomic():
            expired = cls.objects.expired_on(plot_id, retention, now).order_by("pk")
            ids = list(expired.values_list("pk", flat=True)[:limit])
            return cls.objects.filter(pk__in=ids).remove() if ids else 0

    @staticmethod
    def record_from_streams(made: list[tuple[int, int, int, dict[str, Any]]], now: datetime) -> list[Annotation | None]:
        """Store what stream lines made, as (plot id, token id, seq, fields) with their x placed
        already, in the caller's transaction (the ingest commit's, with the points): each row,
        or None for one left out as it holds a token string of the plot owner's. The stream's
        writer counted them against ANNOTATIONS_PER_PLOT; its process tells the viewers."""
        if not made:
            return []
        owners = dict(Plot.objects.filter(pk__in={plot_id for plot_id, *_ in made}).values_list("pk", "owner_id"))
        tokens = {owner: StreamToken.objects.strings_of(owner) for owner in set(owners.values())}
        rows: list[Annotation | None] = [
            None
            if token_paths(fields, tokens.get(owners.get(plot_id), set()), "")
            else Annotation(
                plot_id=plot_id,
                stream_id=token_id,
                seq=seq,
                x=fields["x"],
                x_end=fields.get("x_end"),
                text=fields["text"],
                color=fields.get("color", ""),
                created=now,
                updated=now,
            )
            for plot_id, token_id, seq, fields in made
        ]
        Annotation.objects.bulk_create([row for row in rows if row is not None])
        return rows

    # -- the rules -----------------------------------------------------------------------------

    def assign_checked(self, fields: dict[str, Any]) -> None:
        """Set the fields (x, x_end, text, trace, color) as the rules allow; AnnotationInvalid
        names the first that is wrong. The actions call it; a form may, to check before saving."""
        self.x = check_x(fields.get("x"))
        self.x_end = None if fields.get("x_end") is None else check_x(fields["x_end"], "x_end")
        check_span(self.x, self.x_end)
        self.text = check_text(fields.get("text"))
        self.color = check_color(fields.get("color"))
        trace = fields.get("trace")
        if trace is not None:
            if isinstance(trace, bool) or not isinstance(trace, int) or trace < 0:
                raise AnnotationInvalid("trace", "the index of one of the plot's traces (0, 1, ...), or null")
            if not self.plot.traces.filter(index=trace).exists():
                raise AnnotationInvalid("trace", f"the plot has no trace {trace}")
        self.trace = trace
        if held := token_paths(self._fields(), StreamToken.objects.strings_of(self.plot.owner_id), ""):
            raise AnnotationInvalid(held[0], TOKEN_REFUSED)

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in EDITABLE}

    def _announce_on_commit(self) -> None:
        data = self.as_dict()
        announce = partial(annotation_changed.send, sender=Annotation, plot_id=self.plot_id, annotations=[data])
        transaction.on_commit(announce)

    # -- what others see -----------------------------------------------------------------------

    def as_dict(self) -> AnnotationData:
        """The one JSON form: the API's, the viewer socket's and the figure's."""
        return {
            "id": self.pk,
            "x": self.x,
            "x_end": self.x_end,
            "text": self.text,
            "trace": self.trace,
            "color": self.color,
            "stream": self.stream_id,
            "created": isostring(self.created) or "",
            "updated": isostring(self.updated) or "",
        }
