"""REST representations of plots, traces and annotations, and the validation of what users send
(stream tokens: web/token_serializers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import transaction
from django.urls import reverse
from rest_framework import serializers

from core import figure_schema
from core.annotation_fields import AnnotationInvalid
from core.instants import NotAnInstant, trace_in_declared_zone
from core.models import MAXPOINTS_DEFAULT, MAXPOINTS_LIMIT, Annotation, Plot, StreamToken, Trace
from core.models.windows import traces_with_windows
from core.retention import normalize_retention

T = TypeVar("T")


def parse_trace(trace: object, where: str, owner) -> tuple[dict, StreamToken | None, int]:
    """Split a Plotly trace into (spec, stream token, maxpoints), checking the binding."""
    if not isinstance(trace, dict):
        raise serializers.ValidationError({where: "A trace must be a JSON object."})
    spec = _dates_in_declared_zone(trace, where)
    stream = spec.pop("stream", None)
    if stream is None:
        return spec, None, MAXPOINTS_DEFAULT
    if not isinstance(stream, dict):
        raise serializers.ValidationError({f"{where}.stream": 'Expected {"token": "...", "maxpoints": 500}.'})
    token = _owned_token(stream.get("token"), f"{where}.stream.token", owner)
    return spec, token, _maxpoints(stream.get("maxpoints", MAXPOINTS_DEFAULT), f"{where}.stream.maxpoints")


def trace_problems(trace: object, where: str) -> list[figure_schema.FigureProblem]:
    """The names in a trace (its `stream` included) that Plotly's schema does not know."""
    if not isinstance(trace, dict):
        return []
    spec = {key: value for key, value in trace.items() if key != "stream"}
    problems = figure_schema.check_trace(spec, where)
    if isinstance(trace.get("stream"), dict):
        problems += figure_schema.check_stream(trace["stream"], figure_schema.join(where, "stream"))
    return problems


def _dates_in_declared_zone(spec: dict, where: str) -> dict:
    """The trace with its dates that carry an offset as the instants they name (core/instants.py)."""
    try:
        return trace_in_declared_zone(spec)
    except NotAnInstant as exc:
        raise serializers.ValidationError({f"{where}.{exc.path}" if where else exc.path: str(exc)}) from None


def raise_problems(problems: list[figure_schema.FigureProblem]) -> None:
    """Refuse a figure with every problem named by its path (a 400 on the API)."""
    if problems:
        raise serializers.ValidationError({problem.path: problem.message for problem in problems})


def keep_tokens_out(figure_part: T, where: str, tokens: set[str], strict: bool) -> T:
    """A stream token anywhere but `stream.token` would be shown to every viewer: strict
    refuses it, naming the place; lenient takes it out."""
    if not strict:
        return figure_schema.without_tokens(figure_part, tokens)
    message = 'holds one of your stream tokens; a token goes only in "stream": {"token": ...}, which viewers never see'
    raise_problems(
        [figure_schema.FigureProblem(path, message) for path in figure_schema.token_paths(figure_part, tokens, where)]
    )
    return figure_part


def _owned_token(value: object, where: str, owner) -> StreamToken | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise serializers.ValidationError({where: "A stream token is a non-empty string."})
    token = StreamToken.objects.filter(token=value, owner=owner, revoked__isnull=True).first()
    if token is None:
        raise serializers.ValidationError(
            {where: f"No stream token {value!r} among yours (make it with POST /api/streams/ first)."}
        )
    return token


def _maxpoints(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAXPOINTS_LIMIT:
        raise serializers.ValidationError({where: f"maxpoints is a number from 0 to {MAXPOINTS_LIMIT}."})
    return int(value)


class PlotSerializer(serializers.ModelSerializer):
    figure = serializers.JSONField(
        required=False,
        help_text='{"data": [traces], "layout": {...}}; a trace binds a token as "stream": {"token", "maxpoints"}.',
    )
    owner = serializers.CharField(source="owner.username", read_only=True)
    web_url = serializers.SerializerMethodField()
    embed_url = serializers.SerializerMethodField()
    share_key = serializers.SerializerMethodField()

    class Meta:
        model = Plot
        fields = [
            "id",
            "title",
            "sharing",
            "share_key",
            "retention",
            "owner",
            "web_url",
            "embed_url",
            "figure",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created", "updated"]

    def get_web_url(self, plot: Plot) -> str:
        return self._absolute(plot.get_absolute_url(), plot)

    def get_embed_url(self, plot: Plot) -> str:
        return self._absolute(plot.embed_path(), plot)

    def get_share_key(self, plot: Plot) -> str | None:
        return plot.share_key if plot.sharing == Plot.SECRET else None

    def _absolute(self, path: str, plot: Plot) -> str:
        if plot.sharing == Plot.SECRET:
            path = f"{path}?share_key={plot.share_key}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def to_representation(self, plot: Plot) -> dict:
        data = super().to_representation(plot)
        request = self.context.get("request")
        if self.context.get("summary"):
            # A list names each plot and where to read it, not every figure (docs/api.md, "Plots").
            data.pop("figure", None)
            bound = [trace.stream_token_id for trace in plot.traces.all()]
            data["url"] = self._absolute(reverse("api-plot-detail", args=[plot.pk]), plot)
            data["figure_url"] = self._absolute(reverse("api-plot-figure", args=[plot.pk]), plot)
            data["traces"] = len(bound)
            data["streams"] = len({token for token in bound if token is not None})
            return data
        is_owner = request is not None and request.user.pk == plot.owner_id
        # Stream tokens are credentials: only the owner sees them.
        if is_owner:
            traces = traces_with_windows(plot.traces.select_related("stream_token"))
            data["figure"] = {"data": [t.plotly_spec() for t in traces], "layout": plot.layout}
        else:
            data["figure"] = plot.viewer_figure()
        return data

    def validate_retention(self, value: str) -> str:
        try:
            return normalize_retention(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_figure(self, figure: object) -> dict:
        if not isinstance(figure, dict):
            raise serializers.ValidationError('Expected {"data": [traces], "layout": {...}}.')
        strict = not self.context.get("lenient_figure", False)
        data = figure.get("data", [])
        layout = figure.get("layout", {})
        if not isinstance(data, list):
            raise serializers.ValidationError("figure.data must be a list of traces.")
        if not isinstance(layout, dict):
            raise serializers.ValidationError("figure.layout must be an object.")
        # Plotly's older forms (a string title) in the ones plotly.js draws, at every door.
        layout = figure_schema.upgrade_layout(layout)
        data = [figure_schema.upgrade_trace(trace) if isinstance(trace, dict) else trace for trace in data]
        figure = {**figure, "data": data, "layout": layout}
        raise_problems(figure_schema.check_layout_size(layout, "figure.layout"))
        if strict:
            # Strict (the REST API, pages, admin): every name Plotly's schema does not know, at
            # once. Lenient (Plotly's own routes, whose old clients send what they always sent):
            # such names are kept, as plotly.js ignores them.
            problems = figure_schema.check_figure_keys(figure) + figure_schema.check_layout(layout)
            for i, trace in enumerate(data):
                problems += trace_problems(trace, f"data[{i}]")
            raise_problems(problems)
        owner = self.context["request"].user
        traces = [parse_trace(trace, f"data[{i}]", owner) for i, trace in enumerate(data)]
        raise_problems(figure_schema.check_trace_sizes([spec for spec, _, _ in traces], len(traces), "data"))
        plot_id = self.instance.pk if self.instance else None
        Trace.check_quotas(plot_id, len(traces), [_token_id(token) for _, token, _ in traces])
        tokens = StreamToken.objects.strings_of(owner.pk)
        traces = [
            (keep_tokens_out(spec, f"data[{i}]", tokens, strict), token, maxpoints)
            for i, (spec, token, maxpoints) in enumerate(traces)
        ]
        return {"traces": traces, "layout": keep_tokens_out(layout, "layout", tokens, strict)}

    def validate(self, attrs: dict) -> dict:
        if not self.context.get("lenient_figure", False) and isinstance(self.initial_data, dict):
            unknown = [key for key in self.initial_data if key not in self.fields]
            raise_problems(
                [
                    figure_schema.FigureProblem(
                        key, f"a plot has no field `{key}`{figure_schema.suggestion(key, list(self.fields))}"
                    )
                    for key in unknown
                ]
            )
        return attrs

    @transaction.atomic
    def create(self, validated: dict) -> Plot:
        figure = validated.pop("figure", {"traces": [], "layout": {}})
        plot = Plot.objects.create(layout=figure["layout"], **validated)
        _replace_traces(plot, figure["traces"])
        return plot

    @transaction.atomic
    def update(self, plot: Plot, validated: dict) -> Plot:
        plot.changed()
        figure = validated.pop("figure", None)
        for field, value in validated.items():
            setattr(plot, field, value)
        changed = [*validated, "updated"]
        if figure is not None:
            plot.layout = figure["layout"]
            changed.append("layout")
            _replace_traces(plot, figure["traces"])
        # Only what was sent: the layout read with the plot may be older than what streams
        # have written since.
        plot.save(update_fields=changed)
        return plot


def _replace_traces(plot: Plot, traces: list[tuple[dict, StreamToken | None, int]]) -> None:
    plot.traces.all().delete()
    Trace.objects.bulk_create(
        Trace(plot=plot, index=i, spec=spec, stream_token=token, maxpoints=maxpoints)
        for i, (spec, token, maxpoints) in enumerate(traces)
    )


def _check_trace_size(spec: dict, trace_count: int) -> None:
    """A trace's spec within its share of PLOT_DATA_MAX_BYTES, in a plot of `trace_count` traces."""
    problem = figure_schema.trace_size_problem(figure_schema.json_bytes(spec), trace_count, "spec")
    raise_problems([problem] if problem is not None else [])


def _token_id(token: StreamToken | None) -> int | None:
    return token.pk if token is not None else None


class TraceSerializer(serializers.ModelSerializer):
    token = serializers.CharField(
        source="stream_token.token",
        allow_null=True,
        required=False,
        help_text="The stream token this trace shows, or null.",
    )
    maxpoints = serializers.IntegerField(min_value=0, max_value=MAXPOINTS_LIMIT, required=False)
    spec = serializers.JSONField(required=False, help_text="The Plotly trace attributes, with its data.")

    class Meta:
        model = Trace
        fields = ["index", "spec", "token", "maxpoints"]
        read_only_fields = ["index"]

    def validate_spec(self, spec: object) -> dict:
        if not isinstance(spec, dict):
            raise serializers.ValidationError("A trace spec is a JSON object.")
        if "stream" in spec:
            raise serializers.ValidationError('Bind a token with "token" and "maxpoints", not inside the spec.')
        spec = figure_schema.upgrade_trace(spec)
        raise_problems(figure_schema.check_trace(spec, ""))
        spec = _dates_in_declared_zone(spec, "")
        return keep_tokens_out(spec, "", StreamToken.objects.strings_of(self.context["request"].user.pk), strict=True)

    def validate(self, attrs: dict) -> dict:
        if "stream_token" in attrs:
            token = attrs.pop("stream_token")["token"]
            attrs["stream_token"] = _owned_token(token, "token", self.context["request"].user)
        return attrs

    @transaction.atomic
    def create(self, validated: dict) -> Trace:
        plot = validated["plot"]
        plot.changed()
        bindings = [*plot.traces.values_list("stream_token_id", flat=True), _token_id(validated.get("stream_token"))]
        Trace.check_quotas(plot.pk, len(bindings), bindings)
        validated["index"] = plot.traces.count()
        _check_trace_size(validated.get("spec", {}), validated["index"] + 1)
        return super().create(validated)

    @transaction.atomic
    def update(self, trace: Trace, validated: dict) -> Trace:
        trace.plot.changed()
        if "stream_token" in validated:
            others = trace.plot.traces.exclude(pk=trace.pk).values_list("stream_token_id", flat=True)
            bindings = [*others, _token_id(validated["stream_token"])]
            Trace.check_quotas(trace.plot_id, len(bindings), bindings)
        if "spec" in validated:
            _check_trace_size(validated["spec"], trace.plot.traces.count())
        for field, value in validated.items():
            setattr(trace, field, value)
        # Only what was sent: the window read with the trace may be older than what its
        # stream has written since.
        trace.save(update_fields=list(validated))
        return trace

    def to_representation(self, trace: Trace) -> dict:
        data = super().to_representation(trace)
        request = self.context.get("request")
        if request is None or request.user.pk != trace.plot.owner_id:
            data.pop("token")  # a credential: only the owner sees it
            data["spec"] = figure_schema.without_tokens(
                data["spec"], StreamToken.objects.strings_of(trace.plot.owner_id)
            )
        return data


class AnnotationSerializer(serializers.Serializer):
    """An annotation of a plot (docs/annotations.md). The fields' rules and the per-plot bound
    are the model's (core/models/annotations.py); a field they refuse is a 400 naming it."""

    id = serializers.IntegerField(read_only=True)
    x = serializers.JSONField(help_text="Where: a number, or a date string (an offset is read as its instant in UTC).")
    x_end = serializers.JSONField(
        required=False, allow_null=True, help_text="A span's end (same kind as x, not before it); null for an event."
    )
    text = serializers.CharField(trim_whitespace=False, help_text="At most ANNOTATION_TEXT_MAX_CHARS characters.")
    trace = serializers.IntegerField(
        required=False, allow_null=True, help_text="The index of the trace it is about (its x axis is used)."
    )
    color = serializers.CharField(
        required=False, allow_blank=True, help_text='A colour Plotly takes ("red", "#e45756"); empty for the default.'
    )
    stream = serializers.IntegerField(read_only=True, allow_null=True, help_text="The stream whose line made it.")
    created = serializers.DateTimeField(read_only=True)
    updated = serializers.DateTimeField(read_only=True)

    def to_representation(self, annotation: Annotation) -> dict:
        return dict(annotation.as_dict())

    def create(self, validated: dict) -> Annotation:
        with _refused_fields():
            return Annotation.add(validated.pop("plot_id"), validated)

    def update(self, annotation: Annotation, validated: dict) -> Annotation:
        with _refused_fields():
            annotation.edit(validated)
        return annotation


@contextmanager
def _refused_fields() -> Iterator[None]:
    """A field the model's rules refuse, as a 400 that names it."""
    try:
        yield
    except AnnotationInvalid as exc:
        raise serializers.ValidationError({exc.field: [str(exc)]}) from None
