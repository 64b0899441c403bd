"""The HTML pages: plots to watch (live, embedded, exported) and the owner's pages to manage them."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST

from core.csv_export import csv_pages
from core.models import ApiKey, BadKey, Plot, StreamToken
from core.models.tokens import BadTopic, check_mqtt_topic, check_topic_room, topic_namespace
from core.models.windows import traces_with_windows
from core.protocol import COORDINATES, PER_POINT_ATTRIBUTES
from core.quotas import QuotaExceeded
from core.retention import WINDOW
from core.window import get_path, point_count
from web.authentication import SignedInRequest
from web.cards import cards
from web.cards import cards_json as cards_json_of
from web.forms import (
    FigureJsonForm,
    PlotLayoutForm,
    TokenForm,
    TraceFormSet,
    create_plot,
    figure_from_trace_forms,
    save_plot_edit,
    trace_initial,
)
from web.plotly_api.views import stream_host_url

# -- watching ------------------------------------------------------------------------------


HOME_CARDS = 120


def _listed(request: HttpRequest):
    """The plots Home lists to this visitor: public ones, and their own (no secret link here)."""
    return Plot.objects.visible_to(request.user).select_related("owner")


def plot_list(request: HttpRequest) -> HttpResponse:
    plots = list(_listed(request)[:HOME_CARDS])
    return render(request, "plots/plot_list.html", {"cards": cards(plots, request.user)})


def cards_json(request: HttpRequest) -> JsonResponse:
    """The live part of the cards of `?ids=1,2,3` (the visible ones): Home and My plots poll it."""
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()][:HOME_CARDS]
    return JsonResponse({"plots": cards_json_of(list(_listed(request).filter(pk__in=ids)), request.user)})


def _viewable(request: HttpRequest, username: str, pk: int) -> tuple[Plot, str | None]:
    """The plot if this visitor may see it (the sharing rule, Plot.objects.visible_to), else 404."""
    share_key = request.GET.get("share_key")
    plots = Plot.objects.visible_to(request.user, share_key).select_related("owner")
    plot = plots.filter(pk=pk, owner__username=username).first()
    if plot is None:
        raise Http404("No such plot, or it is not shared with you.")
    return plot, share_key


def _with_key(path: str, plot: Plot, share_key: str | None) -> str:
    return f"{path}?share_key={share_key}" if plot.sharing == Plot.SECRET and share_key else path


def stream_commands(request: HttpRequest, token: str) -> list[dict]:
    """Ready-to-run producers for one token, addressed to this very server: curl, Python, chart_studio.

    curl reads stdin as it comes only with `-T -` (`--data-binary @-` waits for its end). The
    Python one uses plotserver's own client (client/, docs/client.md). chart_studio streams to
    port 80 of `plotly_streaming_domain` (443 when it says https), whatever port is written
    there, and only the stream listener reads what it sends: without a listener on such a port,
    the tab says how to get one instead of showing a script that cannot work."""
    base = f"{request.scheme}://{request.get_host()}"
    curl = (
        'while true; do echo "{\\"x\\": \\"$(date -u +%FT%T.%3N)\\", \\"y\\": $RANDOM}"; sleep 0.2; done |\n'
        f'  curl -sS -T - -X POST -H "plotly-streamtoken: {token}" -H "Transfer-Encoding: chunked" {base}/'
    )
    python = (
        "import math, time\n\n"
        "from plotserver_client import Stream\n\n"
        f'with Stream("{base}", "{token}") as stream:\n'
        "    for i in range(600):\n"
        '        stream.write({"x": i, "y": math.sin(i / 10)})\n'
        "        time.sleep(0.1)\n"
        "print(stream.totals())"
    )
    stream_url = stream_host_url(request)
    chart_studio_port = 443 if "https" in stream_url else 80  # as chart_studio's Stream picks it
    if settings.STREAM_PORT is None:
        chart_studio = ""
        chart_studio_note = (
            "chart_studio streams to port 80, to the stream listener, which is off on this server:"
            " start it with STREAM_PORT=80 (make run STREAM_PORT=80), and this tab shows a script"
            " to run. See docs/migrating-from-plotly.md."
        )
    elif urlsplit(stream_url).port not in (None, chart_studio_port):
        chart_studio = ""
        chart_studio_note = (
            f"chart_studio streams to port 80 only, and this server's stream listener is at {stream_url}:"
            " run it with STREAM_PORT=80, or put a TCP proxy on port 80 in front of it and name that"
            " address in STREAM_PUBLIC_URL. See docs/migrating-from-plotly.md."
        )
    else:
        chart_studio = (
            "import math, time\n"
            "import chart_studio.plotly as py, chart_studio.tools as tls\n\n"
            f'tls.set_config_file(\n    plotly_domain="{base}",\n    plotly_api_domain="{base}",\n'
            f'    plotly_streaming_domain="{stream_url}",\n)\n'
            f's = py.Stream("{token}")\n'
            "s.open()\n"
            "for i in range(600):\n"
            "    s.write(dict(x=i, y=math.sin(i / 10)))\n"
            "    time.sleep(0.1)\n"
            "s.close()"
        )
        chart_studio_note = "chart_studio 1.1.0 with plotly 5.x (docs/migrating-from-plotly.md)."
    return [
        {"id": "curl", "label": "curl", "text": curl, "note": ""},
        {
            "id": "python",
            "label": "Python",
            "text": python,
            "note": "plotserver's client: pip install ./client in a plotserver checkout,"
            " or client/plotserver_client.py beside the script (standard library only).",
        },
        {"id": "chart-studio", "label": "chart_studio", "text": chart_studio, "note": chart_studio_note},
    ]


def plot_detail(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    plot, share_key = _viewable(request, username, pk)
    is_owner = request.user.is_authenticated and request.user.pk == plot.owner_id
    if is_owner and plot.sharing == Plot.SECRET:
        share_key = plot.share_key  # the owner's page shows the link to share
    shown_key = share_key if plot.sharing == Plot.SECRET else ""
    traces = traces_with_windows(plot.traces.select_related("stream_token"))
    bound = [t.stream_token for t in traces if t.stream_token is not None and not t.stream_token.is_revoked]
    context = {
        "plot": plot,
        "share_key": shown_key or "",
        "is_owner": is_owner,
        "traces": traces,
        "waiting": not any(point_count(t.spec) for t in traces),
        "coordinates": COORDINATES,
        "commands": stream_commands(request, bound[0].token) if is_owner and bound else [],
        "command_token": bound[0] if bound else None,
        "page_url": request.build_absolute_uri(_with_key(plot.get_absolute_url(), plot, shown_key)),
        "embed_url": request.build_absolute_uri(_with_key(plot.embed_path(), plot, shown_key)),
        "figure_url": _with_key(reverse("plot-figure-json", args=[username, pk]), plot, shown_key),
        "csv_query": f"?share_key={shown_key}" if shown_key else "",
        "history_query": f"&share_key={shown_key}" if shown_key else "",
        "keeps_history": plot.retention != WINDOW,
        "filename": slugify(plot.title) or f"plot-{plot.pk}",
    }
    return render(request, "plots/plot_detail.html", context)


@xframe_options_exempt
def plot_embed(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    plot, share_key = _viewable(request, username, pk)
    if plot.sharing == Plot.PRIVATE:
        raise Http404("Private plots cannot be embedded.")
    shown_key = share_key if plot.sharing == Plot.SECRET else ""
    return render(request, "plots/plot_embed.html", {"plot": plot, "share_key": shown_key or ""})


def plot_figure_json(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    """The figure as its viewers see it, as a download."""
    plot, _ = _viewable(request, username, pk)
    response = HttpResponse(json.dumps(plot.viewer_figure(), indent=1), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{slugify(plot.title) or "plot"}-{plot.pk}.json"'
    return response


def trace_csv(request: HttpRequest, username: str, pk: int, index: int) -> HttpResponse:
    """One trace's current window as CSV: a column per point attribute, a row per point."""
    plot, _ = _viewable(request, username, pk)
    trace = get_object_or_404(plot.traces, index=index)
    (trace,) = traces_with_windows(plot.traces.filter(pk=trace.pk))
    columns = {}
    # Every per-point attribute a stream can append (the protocol's one list), coordinates first.
    for name in PER_POINT_ATTRIBUTES:
        values = get_path(trace.spec, name)
        if isinstance(values, list):
            columns[name] = values
    points = max((len(v) for v in columns.values()), default=0)
    response = HttpResponse(b"".join(csv_pages([(columns, points)])), content_type="text/csv")
    response["Content-Disposition"] = (
        # "-window": beside the trace's full history (history/views.py), named without it.
        f'attachment; filename="{slugify(plot.title) or "plot"}-{plot.pk}-trace-{index}-window.csv"'
    )
    return response


# -- the owner's pages -----------------------------------------------------------------------


def _own_plot(request: SignedInRequest, username: str, pk: int) -> Plot:
    return get_object_or_404(Plot, pk=pk, owner=request.user, owner__username=username)


@login_required
def my_plots(request: SignedInRequest) -> HttpResponse:
    plots = list(Plot.objects.filter(owner=request.user).select_related("owner"))
    return render(request, "plots/my_plots.html", {"cards": cards(plots, request.user)})


@login_required
def status_json(request: SignedInRequest) -> JsonResponse:
    """The live status of the owner's tokens, polled by the settings page."""
    tokens = StreamToken.objects.filter(owner=request.user)
    return JsonResponse({"tokens": {str(token.pk): token.status() for token in tokens}})


@login_required
def plot_create(request: SignedInRequest) -> HttpResponse:
    """Make a plot from the form (title, sharing, traces) or from pasted figure JSON."""
    posted = request.method == "POST"
    kind = request.POST.get("kind", "form") if posted else "form"
    form_data = request.POST if posted and kind == "form" else None
    form = PlotLayoutForm(form_data, prefix="plot", owner=request.user)
    # The side not posted comes back as new, one trace ready, whatever happened on the other.
    traces = TraceFormSet(
        form_data, prefix="traces", form_kwargs={"owner": request.user}, initial=None if form_data else [{}]
    )
    json_form = FigureJsonForm(request.POST if posted and kind == "json" else None, prefix="json")
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            with transaction.atomic():
                if kind == "json" and json_form.is_valid():
                    data = json_form.cleaned_data
                    plot, errors = create_plot(
                        request, data["title"], data["sharing"], data["figure"], data["retention"]
                    )
                elif kind == "form" and form.is_valid() and traces.is_valid():
                    data = form.cleaned_data
                    figure = figure_from_trace_forms(traces, request.user, data["title"], data["layout"])
                    plot, errors = create_plot(request, data["title"], data["sharing"], figure, data["retention"])
                else:
                    plot = None
        except QuotaExceeded as exc:
            plot, errors, status = None, [str(exc.detail)], exc.status_code
        if plot is not None:
            messages.success(request, f"Made “{plot}”. Stream to its tokens and it draws itself.")
            return redirect(plot.get_absolute_url())
    return render(
        request,
        "plots/plot_create.html",
        {"form": form, "traces": traces, "json_form": json_form, "errors": errors, "kind": kind},
        status=status,
    )


@login_required
def plot_edit(request: SignedInRequest, username: str, pk: int) -> HttpResponse:
    plot = _own_plot(request, username, pk)
    existing = [trace_initial(t) for t in plot.traces.select_related("stream_token")]
    if request.method == "POST":
        form = PlotLayoutForm(request.POST, prefix="plot", owner=request.user)
        traces = TraceFormSet(request.POST, prefix="traces", form_kwargs={"owner": request.user})
        if form.is_valid() and traces.is_valid():
            try:
                save_plot_edit(plot, form, traces, request.user)
            except QuotaExceeded as exc:
                messages.error(request, str(exc.detail))
                context = {"plot": plot, "form": form, "traces": traces}
                return render(request, "plots/plot_edit.html", context, status=exc.status_code)
            messages.success(request, "Saved. Everyone watching sees the change now.")
            return redirect(plot.get_absolute_url())
    else:
        form = PlotLayoutForm(
            prefix="plot",
            initial={
                "title": plot.title,
                "sharing": plot.sharing,
                "retention": plot.retention,
                "layout": json.dumps(plot.layout, indent=1),
            },
        )
        traces = TraceFormSet(prefix="traces", form_kwargs={"owner": request.user}, initial=existing)
    return render(request, "plots/plot_edit.html", {"plot": plot, "form": form, "traces": traces})


@login_required
def plot_delete(request: SignedInRequest, username: str, pk: int) -> HttpResponse:
    plot = _own_plot(request, username, pk)
    if request.method == "POST":
        title = str(plot)
        plot.remove()
        messages.success(request, f"Deleted “{title}”.")
        return redirect("my-plots")
    return render(request, "plots/plot_delete.html", {"plot": plot})


@login_required
def account_settings(request: SignedInRequest) -> HttpResponse:
    context = {
        "api_key": ApiKey.objects.filter(user=request.user).first(),
        "new_key": request.session.pop("new_api_key", None),
        "tokens": StreamToken.objects.filter(owner=request.user).prefetch_related("traces__plot"),
        "token_form": TokenForm(),
        "mqtt_enabled": bool(settings.MQTT_URL),
        "mqtt_namespace": topic_namespace(request.user.get_username()),
    }
    return render(request, "plots/settings.html", context)


@login_required
@require_POST
def api_key_issue(request: SignedInRequest) -> HttpResponse:
    # Shown once, on the page the redirect leads to; only its hash is kept. `key`: one brought over.
    brought = request.POST.get("key", "").strip() or None
    try:
        request.session["new_api_key"] = ApiKey.issue(request.user, brought=brought)
    except BadKey as exc:
        messages.error(request, str(exc))
    return redirect("account-settings")


@login_required
@require_POST
def token_create(request: SignedInRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, errors = form.save(request)
        except QuotaExceeded as exc:
            messages.error(request, str(exc.detail))
            response = account_settings(request)
            response.status_code = exc.status_code
            return response
        if token is not None:
            messages.success(request, f"Token “{token}” is ready.")
        for error in errors:
            messages.error(request, error)
    return redirect("account-settings")


@login_required
@require_POST
def token_mqtt_topic(request: SignedInRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(StreamToken, pk=pk, owner=request.user, revoked__isnull=True)
    try:
        token.mqtt_topic = check_mqtt_topic(request.POST.get("mqtt_topic", "").strip(), request.user.get_username())
        if token.mqtt_topic:
            check_topic_room(token.pk)
    except BadTopic as exc:
        messages.error(request, f"Not a topic filter MQTT allows: {exc}.")
        return redirect("account-settings")
    token.save(update_fields=["mqtt_topic"])
    if token.mqtt_topic:
        messages.success(request, f"“{token}” now takes the messages of MQTT topic {token.mqtt_topic}.")
    else:
        messages.success(request, f"“{token}” takes no MQTT messages now.")
    return redirect("account-settings")


@login_required
@require_POST
def token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(StreamToken, pk=pk, owner=request.user)
    token.revoke()
    messages.success(request, f"Revoked “{token}”: its stream is closed and new ones are refused.")
    return redirect("account-settings")
