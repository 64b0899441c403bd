"""GET /api/plots/<id>/traces/<i>/points/: a trace's history in a range, as JSON columns
(downsampled to the screen) or as a raw CSV / NDJSON download; and a stream's runs, listed
and started (/api/streams/<id>/runs/, /api/plots/<id>/runs/). docs/history.md is the
reference; history/range_reads.py does the reading (history/bounds.py the ranges,
history/downsampling.py the answer), history/run_spans.py knows the runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import orjson
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csv_export import csv_pages
from core.models import Plot, Run, StreamToken, Trace
from core.protocol import LineRejected, parse_run
from history.admission import admit
from history.bounds import BadRange, Bound, parse_bound, ranged_pages
from history.columns import Columns, as_list
from history.downsampling import METHODS
from history.range_answer import range_answer
from history.range_reads import history_pages
from history.run_spans import RunSpan, listed_runs, plot_runs, run_answer, run_span
from streaming.runs import RunNotStarted, start_run

DEFAULT_MAX_POINTS = 2000
FORMATS = ("json", "csv", "ndjson")


class JSONAnswers(BaseContentNegotiation):
    """`?format=` chooses the download here, not a renderer: answers that are not downloads,
    errors included, are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TracePointsView(APIView):
    """A trace's stored points in a range of x: as columns, at most `max_points`, downsampled
    by `method` (none, minmax, lttb); or every point of the range as `?format=csv|ndjson`.
    Readable by whoever may see the plot (its owner, anyone for a public plot, the holder of
    a secret plot's `?share_key=`)."""

    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONAnswers

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="Lowest x kept: a number, or a date for date x."),
            OpenApiParameter("to", str, description="Highest x kept: a number, or a date for date x."),
            OpenApiParameter("max_points", int, description="At most this many points (default 2000)."),
            OpenApiParameter("method", str, enum=METHODS, description="How to downsample (default lttb)."),
            OpenApiParameter("format", str, enum=FORMATS, description="csv or ndjson: the raw range, streamed."),
            OpenApiParameter("run", int, description="Only the points of this run of the trace's stream."),
            OpenApiParameter("share_key", str, description="A secret plot's share key."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, plot_pk: str, index: str) -> Response | StreamingHttpResponse:
        plot = Plot.objects.visible_or_404(request.user, request.query_params.get("share_key"), plot_pk)
        if not index.isdigit():
            raise NotFound("No such trace.")
        trace = get_object_or_404(Trace.objects.select_related("plot"), plot=plot, index=int(index))
        params = request.query_params
        fmt = params.get("format", "json")
        if fmt not in FORMATS:
            raise ValidationError({"format": f"`format` is one of {', '.join(FORMATS)}, not {fmt!r}."})
        start, end = _bound(params, "from"), _bound(params, "to")
        if start is not None and end is not None and start.is_date == end.is_date and start.value > end.value:
            raise ValidationError({"to": "`to` is at or after `from`."})
        run = _run(trace, params.get("run"))
        if fmt != "json":
            for name in ("max_points", "method"):
                if name in params:
                    raise ValidationError({name: f"A {fmt} download is the raw range: `{name}` does not apply."})
            return _download(request, trace, fmt, start, end, run)
        method = params.get("method", "lttb")
        if method not in METHODS:
            raise ValidationError({"method": f"`method` is one of {', '.join(METHODS)}, not {method!r}."})
        max_points = _max_points(params.get("max_points"))
        try:
            with admit(request):
                answer = range_answer(trace, start, end, method, max_points, settings.HISTORY_READ_MAX_POINTS, run)
        except BadRange as exc:
            raise ValidationError({exc.field: str(exc)}) from None
        return Response(
            {
                "plot": plot.pk,
                "trace": trace.index,
                "from": params.get("from") or None,
                "to": params.get("to") or None,
                "method": method,
                "max_points": max_points,
                "run": None if run is None else run.number,
                **answer,
            }
        )


def _run(trace: Trace, text: str | None) -> RunSpan | None:
    """The run `?run=` names, of the trace's stream."""
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValidationError({"run": f"`run` is a run's number (1, 2, ...), not {text!r}."})
    if trace.stream_token_id is None:
        raise ValidationError({"run": "This trace has no stream, so no runs."})
    span = run_span(trace.stream_token_id, int(text))
    if span is None:
        raise ValidationError({"run": f"The trace's stream has no run {text}."})
    return span


def _bound(params, name: str) -> Bound | None:
    try:
        return parse_bound(params.get(name), name)
    except BadRange as exc:
        raise ValidationError({exc.field: str(exc)}) from None


def _max_points(text: str | None) -> int:
    if text is None or text == "":
        return min(DEFAULT_MAX_POINTS, settings.HISTORY_MAX_POINTS)
    limit = settings.HISTORY_MAX_POINTS
    if not text.isdigit() or not 4 <= int(text) <= limit:
        raise ValidationError({"max_points": f"`max_points` is a whole number from 4 to {limit}, not {text!r}."})
    return int(text)


# -- runs --------------------------------------------------------------------------------------


class RunRefused(APIException):
    """A run that could not be started (revoked token 409, stopping 503, not stored in time 504)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class StreamRunsView(APIView):
    """The runs of one of your streams: GET lists them, POST starts a new one (optional body
    `{"name": "..."}`), in sequence with what the stream's producer writes."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: str) -> Response:
        token = _own_token(request, pk)
        traces = list(Trace.objects.filter(stream_token=token).select_related("plot"))
        return Response({"stream": token.pk, "runs": listed_runs(token, traces)})

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            201: OpenApiTypes.OBJECT,
            409: OpenApiResponse(description="The stream token is revoked, or its stream could not be taken: no run."),
            504: OpenApiResponse(description="The run was not stored within RUN_START_TIMEOUT: retry."),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        token = _own_token(request, pk)
        data = request.data if request.data else {}
        if not isinstance(data, dict) or set(data) - {"name"}:
            raise ValidationError({"name": 'The body is a JSON object, {"name": "..."}, or empty.'})
        try:
            name = parse_run(data)
        except LineRejected as exc:
            raise ValidationError({"name": str(exc).removeprefix("run: ")}) from None
        if token.revoked is not None:
            raise RunRefused(status.HTTP_409_CONFLICT, "The stream token is revoked: it starts no runs.")
        try:
            started = async_to_sync(start_run)(token.pk, token.token, name)
        except RunNotStarted as exc:
            raise RunRefused(exc.status, str(exc)) from None
        span = RunSpan(started.number, name, timezone.now(), started.first_seq, None)
        stored = Run.objects.filter(token=token, number=started.number).values_list("started", flat=True).first()
        return Response(
            {"stream": token.pk, **run_answer(span if stored is None else replace(span, started=stored), True)},
            status=status.HTTP_201_CREATED,
        )


def _own_token(request: Request, pk: str) -> StreamToken:
    if not pk.isdigit():
        raise NotFound("No such stream token of yours.")
    token = StreamToken.objects.filter(owner_id=request.user.pk, pk=pk).first()
    if token is None:
        raise NotFound("No such stream token of yours.")
    return token


class PlotRunsView(APIView):
    """The runs of each stream that feeds a plot, readable by whoever may see the plot."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("share_key", str, description="A secret plot's share key.")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, plot_pk: str) -> Response:
        plot = Plot.objects.visible_or_404(request.user, request.query_params.get("share_key"), plot_pk)
        return Response({"plot": plot.pk, "retention": plot.retention, "streams": plot_runs(plot)})


# -- downloads ---------------------------------------------------------------------------------


def _download(request: Request, trace: Trace, fmt: str, start: Bound | None, end: Bound | None, run: RunSpan | None):
    """Every point of the range, written a page of stored rows at a time as it is read."""
    of_run = "" if run is None else f"-run-{run.number}"
    name = f"{slugify(trace.plot.title) or 'plot'}-{trace.plot_id}-trace-{trace.index}{of_run}.{fmt}"
    place = admit(request)
    ranged = ranged_pages(history_pages(trace, run=run), start, end)
    try:  # a bound of the wrong kind is a 400 while one still can be
        first = next(ranged, None)
    except BadRange as exc:
        place.release()
        raise ValidationError({exc.field: str(exc)}) from None
    except BaseException:
        place.release()
        raise
    encode = _csv_pages if fmt == "csv" else _ndjson_pages
    encoded = place.holding(encode(_until_bad(first, ranged)))
    pages: Iterator[bytes] | AsyncIterator[bytes] = encoded
    if isinstance(request._request, ASGIRequest):
        pages = _async_pages(encoded)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    response = StreamingHttpResponse(pages, content_type=media)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _until_bad(first, rest) -> Iterator[Columns]:
    """The pages with points. A later page whose x are of the other kind (the producer changed
    from numbers to dates) ends the download there: the status line is already sent."""
    if first is None:
        return
    yield first[0]
    try:
        for page, _ in rest:
            yield page
    except BadRange:
        return


def _csv_pages(pages: Iterator[Columns]) -> Iterator[bytes]:
    """CSV (core/csv_export.py): a header of the first page's attributes (coordinates first), then
    a row per point. An attribute that first appears later is not a column (NDJSON carries
    every one)."""
    lists = (({path: as_list(column) for path, column in page.values.items()}, page.count) for page in pages)
    return csv_pages(lists)


def _ndjson_pages(pages: Iterator[Columns]) -> Iterator[bytes]:
    """NDJSON: one object per point, its attributes by path (nulls left out)."""
    for page in pages:
        paths = list(page.values)
        rows = zip(*(page.values[p] for p in paths), strict=True)
        yield b"".join(
            orjson.dumps({p: v for p, v in zip(paths, row, strict=True) if v is not None}) + b"\n" for row in rows
        )


async def _async_pages(pages: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The pages for an ASGI server, each read on the database thread as the client takes them
    (a synchronous iterator would be read to its end first)."""

    def take() -> bytes | None:
        return next(pages, None)

    def close() -> None:
        close_pages = getattr(pages, "close", None)
        if close_pages is not None:
            close_pages()

    try:
        while (page := await sync_to_async(take)()) is not None:
            yield page
    finally:  # a client gone before the end: the pages (and their read's place) are let go
        await sync_to_async(close)()
