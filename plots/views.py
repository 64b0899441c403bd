"""The HTML pages: the plot list, one live plot, its embeddable form."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_exempt

from plots.models import Plot


def plot_list(request: HttpRequest) -> HttpResponse:
    visible = Q(sharing=Plot.PUBLIC)
    if request.user.is_authenticated:
        visible |= Q(owner=request.user)
    plots = Plot.objects.filter(visible).select_related("owner")[:200]
    return render(request, "plots/plot_list.html", {"plots": plots})


def _viewable(request: HttpRequest, username: str, pk: int) -> tuple[Plot, str | None]:
    plot = get_object_or_404(Plot.objects.select_related("owner"), pk=pk, owner__username=username)
    share_key = request.GET.get("share_key")
    if not plot.can_view(request.user, share_key):
        raise Http404("No such plot, or it is not shared with you.")
    return plot, share_key


def plot_detail(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    plot, share_key = _viewable(request, username, pk)
    return render(request, "plots/plot_detail.html", {"plot": plot, "share_key": share_key or ""})


@xframe_options_exempt
def plot_embed(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    plot, share_key = _viewable(request, username, pk)
    if plot.sharing == Plot.PRIVATE:
        raise Http404("Private plots cannot be embedded.")
    return render(request, "plots/plot_embed.html", {"plot": plot, "share_key": share_key or ""})
