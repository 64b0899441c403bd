"""Which trace of a plot each line-protocol series feeds, and the stream token it feeds it by;
and the bucket names owners give their plots."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from core.models import MAXPOINTS_DEFAULT, Plot, StreamToken, Trace
from core.quotas import QuotaExceeded
from lineproto.points import SeriesKey


@dataclass(frozen=True, slots=True)
class SeriesStream:
    """The stream a series' points are lines of: its token's id and string."""

    token_id: int
    token: str


@dataclass(slots=True)
class SeriesStreams:
    """Each series of a write with its stream, or why it has none (the series bound, a quota)."""

    streams: dict[SeriesKey, SeriesStream] = field(default_factory=dict)
    refused: dict[SeriesKey, str] = field(default_factory=dict)


def new_trace_spec(key: SeriesKey) -> dict:
    """A new series' trace: a line named after the series."""
    return {"type": "scatter", "mode": "lines", "name": key.name}


class SeriesQuerySet(models.QuerySet):
    def streams_for(self, plot: Plot, keys: Iterable[SeriesKey]) -> SeriesStreams:
        """The stream of each series of `plot`, made on first sight: a trace of the plot and a
        stream token of the owner's that feeds it (one per series, as a stream line feeds every
        trace of its token). A series past LINEPROTO_MAX_SERIES, or past a quota, is refused.
        A series whose token was revoked or unbound gets a new one: the owner's API key wrote."""
        keys = list(keys)
        result = SeriesStreams()
        missing = self._known(plot, keys, result)
        if not missing:
            return result
        with transaction.atomic():
            plot.changed()  # locks the plot: two writes making the same series make it once
            missing = self._known(plot, missing, result)
            rows = {row.key: row for row in Series.objects.filter(plot=plot, key__in=[k.digest for k in missing])}
            room = settings.LINEPROTO_MAX_SERIES - Series.objects.filter(plot=plot).count()
            traces = plot.traces.count()
            quota = ""
            for key in missing:
                row = rows.get(key.digest)
                if row is None and room <= 0:
                    result.refused[key] = (
                        f"max series per plot exceeded: a plot takes {settings.LINEPROTO_MAX_SERIES} series "
                        f"(LINEPROTO_MAX_SERIES); series {key.name!r} was not made"
                    )
                    continue
                if quota:
                    result.refused[key] = quota
                    continue
                try:
                    with transaction.atomic():
                        name = f"line protocol: {key.name}"[:100]
                        token = StreamToken.objects.create(owner_id=plot.owner_id, name=name)
                        if row is None:
                            Trace.check_quotas(plot.pk, traces + 1, [])
                            trace = Trace.objects.create(
                                plot=plot,
                                index=traces,
                                spec=new_trace_spec(key),
                                stream_token=token,
                                maxpoints=MAXPOINTS_DEFAULT,
                            )
                            Series.objects.create(plot=plot, key=key.digest, trace=trace)
                            traces += 1
                            room -= 1
                        else:
                            Trace.objects.filter(pk=row.trace_id).update(stream_token=token)
                except QuotaExceeded as exc:
                    quota = str(exc.detail)
                    result.refused[key] = quota
                    continue
                result.streams[key] = SeriesStream(token.pk, token.token)
        return result

    def _known(self, plot: Plot, keys: list[SeriesKey], result: SeriesStreams) -> list[SeriesKey]:
        """Put the series that have a live stream into `result`; return the others."""
        by_digest = {key.digest: key for key in keys}
        rows = (
            Series.objects.filter(plot=plot, key__in=by_digest)
            .filter(trace__stream_token__isnull=False, trace__stream_token__revoked__isnull=True)
            .values_list("key", "trace__stream_token_id", "trace__stream_token__token")
        )
        for digest, token_id, token in rows:
            result.streams[by_digest[digest]] = SeriesStream(token_id, token)
        return [key for key in keys if key not in result.streams]


class Series(models.Model):
    """A series of line protocol written to a plot (measurement, tag set, field, by digest) and
    the trace it feeds. Deleting the trace forgets the series: its next point makes a new one."""

    plot = models.ForeignKey(Plot, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, help_text="SHA-256 of the series' measurement, tag set and field.")
    trace = models.OneToOneField(Trace, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    objects = SeriesQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "series"
        constraints = [models.UniqueConstraint(fields=["plot", "key"], name="unique_series_of_plot")]

    def __str__(self) -> str:
        return f"series {self.key[:8]} of plot {self.plot_id}"


# A bucket name: what InfluxDB's clients and Telegraf take as a bucket or database, and never a
# number (a number names a plot by its id).
BUCKET_NAME = re.compile(r"^(?![0-9]+$)[A-Za-z0-9._-]{1,64}$")


class Bucket(models.Model):
    """A name its owner gives a plot, to write line protocol to it as `bucket=<name>` (or
    `db=<name>`) instead of its id. Each owner's names are their own."""

    plot = models.OneToOneField(Plot, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_bucket_name_of_owner")]

    def __str__(self) -> str:
        return f"bucket {self.name} (plot {self.plot_id})"
