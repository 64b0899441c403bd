"""The two write endpoints, InfluxDB 2's `/api/v2/write` and InfluxDB 1's `/write`; and a
plot's bucket name (`/api/plots/<id>/bucket/`).

Thin: who is writing (the REST API's own authentication: `Token`/`Bearer` key, or Basic with the
username, or InfluxDB 1's `u` and `p`), to which plot, the body undone from gzip and bounded;
then the points, per series, into the ingest core (lineproto/writes.py), and InfluxDB's answer.
"""

from __future__ import annotations

import base64
import time
import zlib

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Plot
from lineproto.answers import WriteSummary, error_answer, exception_handler_for
from lineproto.models import BUCKET_NAME, Bucket, Series
from lineproto.points import PRECISIONS, BadPrecision, read_batch
from lineproto.writes import SeriesWrite, write_all

# A plot's id as a bucket or database name: digits, within what the column holds.
MAX_ID_DIGITS = 18


class TooLarge(Exception):
    """The body, gzip undone, is larger than LINEPROTO_MAX_BODY_BYTES."""


class NotGzip(Exception):
    """`Content-Encoding: gzip` with a body that is not gzip."""


def gunzip(data: bytes, limit: int) -> bytes:
    """`data` (one gzip member or several) undone, never holding more than `limit` + 1 bytes of it."""
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise NotGzip(str(exc)) from None
        if len(out) > limit:
            raise TooLarge
        if not inflater.eof:
            raise NotGzip("the body ends inside the gzip stream")
        data = inflater.unused_data
    return bytes(out)


def body_of(request: Request) -> bytes:
    """The request's line protocol: gzip undone, within LINEPROTO_MAX_BODY_BYTES."""
    limit = settings.LINEPROTO_MAX_BODY_BYTES
    raw = request.body
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding == "gzip":
        return gunzip(raw, limit)
    if encoding not in ("", "identity"):
        raise NotGzip(f"Content-Encoding {encoding!r} is not read here: send gzip or identity")
    if len(raw) > limit:
        raise TooLarge
    return raw


def too_large(v1: bool) -> Response:
    limit = settings.LINEPROTO_MAX_BODY_BYTES
    return error_answer(
        413, f"the body is larger than {limit} bytes (LINEPROTO_MAX_BODY_BYTES, after gzip): send less per write", v1
    )


WRITE_REQUEST = {"text/plain": OpenApiTypes.STR}
# Every error answer of these endpoints: InfluxDB's shape. (`message` is all that is certain: the
# server's own guards, a body over API_MAX_BODY_BYTES as sent and the database away, answer
# `{"message", "errors"}`, docs/ingest.md.)
INFLUXDB_ERROR = inline_serializer(
    "InfluxDBError",
    fields={
        "code": serializers.CharField(required=False, help_text="InfluxDB's code: invalid, unauthorized, ..."),
        "message": serializers.CharField(help_text="What went wrong; for a bad line, its number and text."),
        "error": serializers.CharField(
            required=False, help_text="The message again, for InfluxDB 1's clients (/write)."
        ),
    },
)


def error_response(description: str, **extra) -> OpenApiResponse:
    return OpenApiResponse(INFLUXDB_ERROR, description=description, **extra)


WRITE_RESPONSES = {
    204: OpenApiResponse(description="Every line was stored and sent to the plot's viewers."),
    400: error_response(
        "A line could not be read or stored (the message names the first), a bad `precision`, no plot named, an "
        "empty body, or a series past LINEPROTO_MAX_SERIES or a quota: every good line was stored.",
        examples=[
            OpenApiExample(
                "a bad line",
                {
                    "code": "invalid",
                    "message": "partial write: line 2: unable to parse 'cpu x=': ...; 3 points written",
                },
            )
        ],
    ),
    401: error_response("No credentials, or a wrong API key."),
    403: error_response("The plot is another user's (one you may see)."),
    404: error_response("No such plot, or not one you may see."),
    405: error_response("Only POST writes."),
    413: error_response(
        "The body is larger than LINEPROTO_MAX_BODY_BYTES (after gzip) or API_MAX_BODY_BYTES (as sent)."
    ),
    429: error_response("Too many failed sign-ins from this address, or too many calls."),
    500: error_response("The server failed while storing the write (a defect: the log says which)."),
    503: error_response(
        "The server is stopping, or the database is away (the write was not stored within "
        "LINEPROTO_WRITE_TIMEOUT): retry after Retry-After (the other series of the write were stored)."
    ),
}

PRECISION = OpenApiParameter(
    "precision", str, description="The unit of the lines' timestamps (default ns).", enum=["ns", "us", "ms", "s"]
)


class LineProtocolWrite(APIView):
    """A write of line protocol into one plot (docs/ingest.md)."""

    renderer_classes = [JSONRenderer]
    parser_classes: list = []  # the body is read raw (body_of)
    plot_parameter = "bucket"
    v1 = False

    def get_exception_handler(self):
        return exception_handler_for(self.v1)

    def write(self, request: Request) -> Response:
        v1 = self.v1
        reference = request.query_params.get(self.plot_parameter, "")
        if not reference:
            return error_answer(
                400, f"`{self.plot_parameter}` is required: the id (or bucket name) of the plot to write to", v1
            )
        plot = self.plot(request, reference)
        try:
            body = body_of(request)
        except TooLarge:
            return too_large(v1)
        except NotGzip as exc:
            return error_answer(400, f"the body could not be read: {exc}", v1)
        try:
            batch = read_batch(body, request.query_params.get("precision", "ns"), time.time_ns())
        except BadPrecision as exc:
            return error_answer(400, str(exc), v1)
        if not batch.points and not batch.errors:
            return error_answer(400, "writing requires points", v1)
        summary = WriteSummary()
        for line, reason in batch.errors:
            summary.reject(line, reason)
        resolved = Series.objects.streams_for(plot, batch.points)
        names = []
        writes = []
        for key, lines in batch.points.items():
            if key in resolved.refused:
                for line, _ in lines:
                    summary.reject(line, resolved.refused[key])
                continue
            stream = resolved.streams[key]
            writes.append(SeriesWrite(stream.token_id, stream.token, [p for _, p in lines], [n for n, _ in lines]))
            names.append(key.name)
        if writes:
            outcomes = async_to_sync(write_all)(writes, request.META.get("REMOTE_ADDR", ""))
            for write, outcome, name in zip(writes, outcomes, names, strict=True):
                summary.add(write, outcome, name)
        return summary.answer(v1)

    def plot(self, request: Request, reference: str) -> Plot:
        """The plot `reference` names (its id, or a bucket name of the writer's), if it is the
        writer's own (404 unseen, 403 another's)."""
        plot = None
        if reference.isascii() and reference.isdigit() and len(reference) <= MAX_ID_DIGITS:
            plot = Plot.objects.visible_to(request.user).filter(pk=int(reference)).first()
        elif BUCKET_NAME.match(reference):
            bucket = Bucket.objects.filter(owner_id=request.user.pk, name=reference).select_related("plot").first()
            plot = bucket.plot if bucket is not None else None
        if plot is None:
            shown = reference if len(reference) <= 40 else f"{reference[:40]}…"
            raise NotFound(
                f"{self.plot_parameter} {shown!r} not found: it is a plot's id or a bucket name you gave a plot,"
                " and no such plot is shared with you"
            )
        if plot.owner_id != request.user.pk:
            raise PermissionDenied(f"plot {plot.pk} is another user's: write to plots of your own")
        return plot


class WriteV2(LineProtocolWrite):
    """InfluxDB 2's write: `POST /api/v2/write?bucket=<plot id>&org=<any>&precision=ns|us|ms|s`,
    with `Authorization: Token <API key>`."""

    @extend_schema(
        operation_id="lineproto_write_v2",
        summary="Write InfluxDB line protocol (InfluxDB 2)",
        parameters=[
            OpenApiParameter("bucket", str, required=True, description="The plot's id, or a bucket name you gave it."),
            OpenApiParameter("org", str, description="Any organisation: not read."),
            PRECISION,
        ],
        request=WRITE_REQUEST,
        responses=WRITE_RESPONSES,
    )
    def post(self, request: Request) -> Response:
        return self.write(request)


class WriteV1(LineProtocolWrite):
    """InfluxDB 1's write: `POST /write?db=<plot id>&precision=...`, with Basic credentials
    (username and API key) or the same as `u` and `p`."""

    plot_parameter = "db"
    v1 = True

    def initialize_request(self, request, *args, **kwargs):
        # InfluxDB 1's credentials in the query: read as the Basic credentials they stand for,
        # by the REST API's one authentication (with its throttle of failures).
        username, password = request.GET.get("u"), request.GET.get("p")
        if username is not None and password is not None and "HTTP_AUTHORIZATION" not in request.META:
            pair = base64.b64encode(f"{username}:{password}".encode()).decode()
            request.META["HTTP_AUTHORIZATION"] = f"Basic {pair}"
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="lineproto_write_v1",
        summary="Write InfluxDB line protocol (InfluxDB 1)",
        parameters=[
            OpenApiParameter("db", str, required=True, description="The plot's id, or a bucket name you gave it."),
            OpenApiParameter("u", str, description="Username (instead of Basic credentials)."),
            OpenApiParameter("p", str, description="API key (instead of Basic credentials)."),
            OpenApiParameter("rp", str, description="Any retention policy: not read."),
            OpenApiParameter(
                "precision", str, description="The unit of the timestamps (default ns).", enum=list(PRECISIONS)
            ),
        ],
        request=WRITE_REQUEST,
        responses=WRITE_RESPONSES,
    )
    def post(self, request: Request) -> Response:
        return self.write(request)


class BucketSerializer(serializers.Serializer):
    """A plot's bucket name: letters, digits, `.`, `_` and `-`, not a number; null for none."""

    plot = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=64, allow_null=True)

    def validate_name(self, name: str | None) -> str | None:
        if name is not None and not BUCKET_NAME.match(name):
            raise serializers.ValidationError(
                "A bucket name is 1 to 64 letters, digits, '.', '_' or '-', and not a number (numbers are plot ids)."
            )
        return name


class PlotBucketView(APIView):
    """The bucket name of one of your plots: line protocol may be written to `bucket=<name>` (or
    `db=<name>`) instead of its id (docs/ingest.md). PUT `{"name": "..."}` sets it, `{"name":
    null}` or DELETE removes it."""

    def _own_plot(self, request: Request, plot_pk: str) -> Plot:
        plot = Plot.objects.visible_or_404(request.user, None, plot_pk)
        if plot.owner_id != request.user.pk:
            raise PermissionDenied("Only the plot's owner names its bucket.")
        return plot

    def _answer(self, plot: Plot) -> Response:
        name = Bucket.objects.filter(plot=plot).values_list("name", flat=True).first()
        return Response({"plot": plot.pk, "name": name})

    @extend_schema(responses={200: BucketSerializer})
    def get(self, request: Request, plot_pk: str) -> Response:
        return self._answer(self._own_plot(request, plot_pk))

    @extend_schema(request=BucketSerializer, responses={200: BucketSerializer})
    def put(self, request: Request, plot_pk: str) -> Response:
        plot = self._own_plot(request, plot_pk)
        serializer = BucketSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data["name"]
        try:
            with transaction.atomic():
                if name is None:
                    Bucket.objects.filter(plot=plot).delete()
                else:
                    taken = Bucket.objects.filter(owner_id=plot.owner_id, name=name).exclude(plot=plot).first()
                    if taken is not None:
                        raise ValidationError({"name": f"{name!r} already names your plot {taken.plot_id}."})
                    Bucket.objects.update_or_create(plot=plot, defaults={"owner_id": plot.owner_id, "name": name})
        except IntegrityError:
            # Two requests at once: the other one took the name (or gave this plot one) first.
            raise ValidationError({"name": f"{name!r} was just given to another of your plots; try again."}) from None
        return self._answer(plot)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, plot_pk: str) -> Response:
        Bucket.objects.filter(plot=self._own_plot(request, plot_pk)).delete()
        return Response(status=204)
