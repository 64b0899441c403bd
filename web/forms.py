"""The owner's forms: make a plot (the common case, or pasted figure JSON), edit one, tokens.

Making a plot goes through the REST API's PlotSerializer, so a plot made in the browser is
validated exactly like one made with the API. Editing changes only what the form shows: each
trace's spec keeps its streamed window and any attribute the form does not know about.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import transaction
from django.forms import BaseFormSet, formset_factory

from core import figure_schema
from core.models import MAXPOINTS_DEFAULT, MAXPOINTS_LIMIT, Plot, StreamToken, Trace
from core.retention import HELP as RETENTION_HELP
from core.retention import normalize_retention
from web.errors import flatten_errors
from web.parsers import load_json
from web.serializers import PlotSerializer
from web.token_serializers import StreamTokenSerializer

TRACE_TYPES = [
    ("scatter", "scatter"),
    ("scattergl", "scattergl (WebGL, for many points)"),
    ("bar", "bar"),
    ("histogram", "histogram"),
    ("box", "box"),
    ("heatmap", "heatmap"),
    ("scatter3d", "scatter3d"),
]
MODES = [("lines", "lines"), ("markers", "markers"), ("lines+markers", "lines+markers"), ("", "(none)")]
NEW_TOKEN = "new"


def token_choices(owner) -> list[tuple[str, str]]:
    choices = [("", "no stream"), (NEW_TOKEN, "a new token")]
    for token in StreamToken.objects.filter(owner=owner, revoked__isnull=True):
        label = f"{token.name} ({token.token[:6]}…)" if token.name else f"{token.token[:10]}…"
        choices.append((token.token, label))
    return choices


class TraceForm(forms.Form):
    type = forms.ChoiceField(choices=TRACE_TYPES, initial="scatter")
    mode = forms.ChoiceField(choices=MODES, initial="lines+markers", required=False)
    name = forms.CharField(max_length=100, required=False)
    token = forms.ChoiceField(choices=(), required=False, initial=NEW_TOKEN, label="Stream token")
    maxpoints = forms.IntegerField(min_value=0, max_value=MAXPOINTS_LIMIT, initial=MAXPOINTS_DEFAULT)
    DELETE = forms.BooleanField(required=False, label="remove")

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["token"].choices = token_choices(owner)
        # A trace added with every default is still a trace the owner asked for.
        self.empty_permitted = False

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name and name in StreamToken.objects.strings_of(getattr(self.owner, "pk", None)):
            raise forms.ValidationError("This is one of your stream tokens: viewers see a trace's name.")
        return name

    def spec_fields(self) -> dict:
        data = self.cleaned_data
        spec = {"type": data["type"]}
        if data["mode"] and data["type"] in ("scatter", "scattergl", "scatter3d"):
            spec["mode"] = data["mode"]
        if data["name"]:
            spec["name"] = data["name"]
        return spec

    def stream_token(self, owner, plot_title: str) -> str | None:
        """The token string this trace streams from, making a new token when asked to."""
        choice = self.cleaned_data["token"]
        if choice == NEW_TOKEN:
            name = self.cleaned_data["name"] or plot_title or "stream"
            return StreamToken.objects.create(owner=owner, name=name[:100]).token
        return choice or None


TraceFormSet = formset_factory(TraceForm, extra=0, min_num=0, can_delete=False)


class PlotForm(forms.Form):
    """What every plot form asks: title, sharing, and what is kept of the streamed points."""

    title = forms.CharField(max_length=200, required=False)
    sharing = forms.ChoiceField(choices=Plot.SHARING_CHOICES, initial=Plot.PUBLIC, widget=forms.RadioSelect)
    retention = forms.CharField(
        max_length=40, required=False, help_text=f"What is kept of the streamed points: {RETENTION_HELP}"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["retention"].widget.attrs["placeholder"] = settings.PLOT_RETENTION_DEFAULT

    def clean_retention(self) -> str:
        if not self.cleaned_data["retention"].strip():
            return ""  # left out: a new plot takes the server's default, an edited one keeps its own
        try:
            return normalize_retention(self.cleaned_data["retention"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class FigureJsonForm(PlotForm):
    figure = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text=(
            '{"data": [traces], "layout": {...}}. A trace streams with "stream": {"token": "…", "maxpoints": 500}.'
        ),
    )

    def clean_figure(self) -> dict:
        try:
            figure = load_json(self.cleaned_data["figure"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(figure, dict):
            raise forms.ValidationError('Expected a JSON object: {"data": [...], "layout": {...}}.')
        return figure


def create_plot(request, title: str, sharing: str, figure: dict, retention: str = "") -> tuple[Plot | None, list[str]]:
    """Make a plot the way POST /api/plots/ does; return it, or the reasons it was refused.
    An empty retention is the server's default (PLOT_RETENTION_DEFAULT)."""
    data = {"title": title, "sharing": sharing, "figure": figure}
    if retention:
        data["retention"] = retention
    serializer = PlotSerializer(data=data, context={"request": request})
    if not serializer.is_valid():
        return None, [e["message"] for e in flatten_errors(serializer.errors)]
    return serializer.save(owner=request.user), []


def figure_from_trace_forms(formset: BaseFormSet[TraceForm], owner, title: str, layout: dict | None = None) -> dict:
    """The figure the form side describes: its traces, and its layout with the title drawn
    (unless the layout gives a title of its own)."""
    data = []
    for form in formset:
        if form.cleaned_data.get("DELETE"):
            continue
        trace = form.spec_fields()
        if trace["type"] not in ("bar", "histogram", "box", "heatmap"):
            trace.update({"x": [], "y": []})
        token = form.stream_token(owner, title)
        if token:
            trace["stream"] = {"token": token, "maxpoints": form.cleaned_data["maxpoints"]}
        data.append(trace)
    layout = dict(layout or {})
    if title and "title" not in layout:
        layout["title"] = {"text": title}
    return {"data": data, "layout": layout}


class PlotLayoutForm(PlotForm):
    """The plot form with its layout as JSON: New (the form side) and Edit."""

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    layout = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        required=False,
        help_text="Plotly layout attributes, as JSON.",
    )

    def clean_layout(self) -> dict:
        text = self.cleaned_data["layout"].strip() or "{}"
        try:
            layout = load_json(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(layout, dict):
            raise forms.ValidationError("The layout is a JSON object.")
        layout = figure_schema.upgrade_layout(layout)
        # The API's rule: Plotly's schema, its size, and no stream token where viewers would see it.
        problems = figure_schema.check_layout(layout) + figure_schema.check_layout_size(layout)
        problems += [
            figure_schema.FigureProblem(path, "holds one of your stream tokens, which viewers would see")
            for path in figure_schema.token_paths(
                layout, StreamToken.objects.strings_of(getattr(self.owner, "pk", None)), "layout"
            )
        ]
        if problems:
            raise forms.ValidationError([f"{p.path}: {p.message}" for p in problems])
        return layout


def trace_initial(trace: Trace) -> dict:
    spec = trace.spec
    return {
        "type": spec.get("type", "scatter"),
        "mode": spec.get("mode", ""),
        "name": spec.get("name", ""),
        "token": token.token if (token := trace.stream_token) is not None and not token.is_revoked else "",
        "maxpoints": trace.maxpoints,
    }


@transaction.atomic
def save_plot_edit(plot: Plot, form: PlotLayoutForm, formset: BaseFormSet[TraceForm], owner) -> None:
    """Apply the edit form: plot fields, then each trace in order; removed traces go and the
    rest are renumbered, since Plotly addresses traces by position. Traces are locked as the
    ingest batch locks them, so no streamed point is lost to the edit."""
    plot = Plot.objects.select_for_update().get(pk=plot.pk)
    plot.changed()
    plot.title = form.cleaned_data["title"]
    plot.sharing = form.cleaned_data["sharing"]
    plot.layout = form.cleaned_data["layout"]
    plot.retention = form.cleaned_data["retention"] or plot.retention
    plot.save()
    existing = list(Trace.objects.select_for_update().filter(plot=plot).order_by("index"))
    kept: list[Trace] = []
    for position, trace_form in enumerate(formset):
        trace = existing[position] if position < len(existing) else None
        if trace_form.cleaned_data.get("DELETE"):
            if trace is not None:
                trace.delete()
            continue
        if trace is None:
            trace = Trace(plot=plot, index=0, spec={"x": [], "y": []})
        for key in ("mode", "name"):
            trace.spec.pop(key, None)
        trace.spec.update(trace_form.spec_fields())
        token = trace_form.stream_token(owner, plot.title)
        trace.stream_token = StreamToken.objects.get(token=token, owner=owner) if token else None
        trace.maxpoints = trace_form.cleaned_data["maxpoints"]
        kept.append(trace)
    Trace.check_quotas(plot.pk, len(kept), [trace.stream_token_id for trace in kept])
    plot.renumber_traces(kept)
    for trace in kept:
        trace.save()


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    token = forms.CharField(
        max_length=64,
        required=False,
        label="Existing token (optional)",
        help_text="Paste a token your producers already use to keep it; leave empty for a new random one.",
    )

    def save(self, request) -> tuple[StreamToken | None, list[str]]:
        data = {"name": self.cleaned_data["name"]}
        if self.cleaned_data["token"].strip():
            data["token"] = self.cleaned_data["token"].strip()
        serializer = StreamTokenSerializer(data=data, context={"request": request})
        if not serializer.is_valid():
            return None, [e["message"] for e in flatten_errors(serializer.errors)]
        return serializer.save(owner=request.user), []
