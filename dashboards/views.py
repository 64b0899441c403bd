"""The dashboard pages: the owner's list, a dashboard (and its embed), live over one socket."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from core.models import Plot, Trace
from dashboards.layout import COLUMNS
from dashboards.models import Dashboard


def _viewable(request: HttpRequest, username: str, pk: int) -> tuple[Dashboard, str]:
    """The dashboard if this visitor may see it (Dashboard.objects.visible_to), else 404; and
    the share key its page passes on (the owner's page shows the link to share)."""
    share_key = request.GET.get("share_key")
    dashboards = Dashboard.objects.visible_to(request.user, share_key).select_related("owner")
    dashboard = dashboards.filter(pk=pk, owner__username=username).first()
    if dashboard is None:
        raise Http404(Dashboard.NOT_VISIBLE)
    if dashboard.sharing != Dashboard.SECRET:
        return dashboard, ""
    is_owner = request.user.is_authenticated and request.user.pk == dashboard.owner_id
    return dashboard, dashboard.share_key if is_owner else share_key or ""


def _context(request: HttpRequest, dashboard: Dashboard, share_key: str) -> dict:
    is_owner = request.user.is_authenticated and request.user.pk == dashboard.owner_id
    panels = list(dashboard.panels.select_related("plot"))
    # A plot the dashboard may no longer show (someone else's, no longer public) keeps its title to itself.
    shown = set(
        Plot.objects.visible_to(dashboard.owner).filter(pk__in=[p.plot_id for p in panels]).values_list("pk", flat=True)
    )
    # History is read with the plot's own rule (docs/history.md): the dashboard's share key opens
    # its panels' live windows, not the plots' histories.
    readable = set(
        Trace.objects.keeping_history()
        .filter(plot__in=Plot.objects.visible_to(request.user).filter(pk__in=shown))
        .values_list("plot_id", flat=True)
    )
    return {
        "dashboard": dashboard,
        "share_key": share_key,
        "is_owner": is_owner,
        "columns": COLUMNS,
        "panels": [
            {
                "plot": p.plot_id,
                "x": p.x,
                "y": p.y,
                "w": p.w,
                "h": p.h,
                "title": p.title,
                "label": p.title or (str(p.plot) if p.plot_id in shown else "not shared"),
                "history": p.plot_id in readable,
            }
            for p in panels
        ],
        # What the owner may add: their own plots (public ones of others by id, through the API).
        "plots": [{"id": p.pk, "title": str(p)} for p in Plot.objects.filter(owner_id=request.user.pk)]
        if is_owner
        else [],
        "kiosk": request.GET.get("kiosk") == "1",
    }


def dashboard_detail(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    dashboard, share_key = _viewable(request, username, pk)
    context = _context(request, dashboard, share_key)
    if context["kiosk"]:
        # A wall display: only the panels, as the embed shows them.
        return render(request, "dashboards/dashboard_embed.html", context)
    query = f"?share_key={share_key}" if share_key else ""
    context["page_url"] = request.build_absolute_uri(dashboard.get_absolute_url() + query)
    context["embed_url"] = request.build_absolute_uri(dashboard.embed_path() + query)
    return render(request, "dashboards/dashboard_detail.html", context)


def dashboard_file_page(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    """`/~<user>/d<id>/`, a dashboard's address in Plotly's API: its page, with the query kept
    (chart_studio adds `?share_key=` to it)."""
    query = request.META.get("QUERY_STRING", "")
    page = reverse("dashboard-detail", kwargs={"username": username, "pk": pk})
    return HttpResponseRedirect(f"{page}?{query}" if query else page)


@xframe_options_exempt
def dashboard_embed(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    dashboard, share_key = _viewable(request, username, pk)
    if dashboard.sharing == Dashboard.PRIVATE:
        raise Http404("Private dashboards cannot be embedded.")
    return render(request, "dashboards/dashboard_embed.html", _context(request, dashboard, share_key))


@login_required
def my_dashboards(request: HttpRequest) -> HttpResponse:
    """The owner's dashboards; POST makes a new, empty one (title, private) and opens it."""
    if request.method == "POST":
        title = request.POST.get("title", "").strip()[:200]
        owner = cast(User, request.user)  # signed in: login_required
        dashboard = Dashboard.objects.create(owner=owner, title=title)
        return redirect(dashboard.get_absolute_url())
    dashboards = Dashboard.objects.filter(owner_id=request.user.pk).prefetch_related("panels")
    return render(request, "dashboards/my_dashboards.html", {"dashboards": dashboards})
