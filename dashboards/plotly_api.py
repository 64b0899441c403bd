"""Plotly's dashboard API for chart_studio's `py.dashboard_ops`: `/v2/dashboards` (create, list
with paging and `deleted`, retrieve, update), dashboards in `/v2/files/lookup`, and a dashboard's
file (`/v2/files/<fid>`: its sharing, which `upload(..., sharing="secret")` turns secret).

A dashboard's Plotly filename is its title, its parent path `Dashboard.folder`, its fid
`owner:d<dashboard id>` (a plot's is `owner:<plot id>`), and its `web_url` `/~owner/d<id>/`, the
address chart_studio reads that fid back from, which leads to its page. The content a client
uploads is kept as sent (`plotly_content`) and turned into panels (dashboards/plotly_content.py);
`retrieve` answers it unchanged.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Plot, isostring
from core.plotly_files import file_location, sharing_of
from dashboards.layout import PanelError
from dashboards.models import Dashboard, plots_not_allowed
from dashboards.plotly_content import panels_of

PAGE_SIZE = 100
# What tells a dashboard's local id from a plot's in a fid (`alice:d7`, `alice:7`).
LOCAL_ID_PREFIX = "d"


def parse_dashboard_fid(fid: str) -> tuple[str, int]:
    owner, _, local_id = fid.rpartition(":")
    number = local_id.removeprefix(LOCAL_ID_PREFIX)
    if not owner or not local_id.startswith(LOCAL_ID_PREFIX) or not number.isdigit():
        raise NotFound(f"{fid!r} is not a dashboard's file id; those look like 'username:d7'.")
    return owner, int(number)


def dashboard_file(dashboard: Dashboard, request: Any, with_content: bool = False) -> dict:
    """A dashboard as Plotly's v2 API describes a file of type dashboard."""
    owner = dashboard.owner.get_username()
    fid = f"{owner}:{LOCAL_ID_PREFIX}{dashboard.pk}"
    is_owner = request.user.is_authenticated and request.user.pk == dashboard.owner_id
    info = {
        "fid": fid,
        "filename": dashboard.title,
        "parent_path": dashboard.folder,
        "filetype": "dashboard",
        "owner": owner,
        "web_url": request.build_absolute_uri(reverse("dashboard-file-page", args=[owner, dashboard.pk])),
        "world_readable": dashboard.sharing == Dashboard.PUBLIC,
        "share_key_enabled": dashboard.sharing == Dashboard.SECRET,
        "share_key": dashboard.share_key if is_owner and dashboard.sharing == Dashboard.SECRET else None,
        "deleted": False,
        "date_created": isostring(dashboard.created),
        "date_modified": isostring(dashboard.updated),
        "api_urls": {"dashboards": request.build_absolute_uri(reverse("plotly-dashboard", args=[fid]))},
    }
    if with_content:
        info["content"] = orjson.dumps(
            dashboard.plotly_content or {"layout": None, "settings": {}, "version": 2}
        ).decode()
    return info


def dashboard_file_at(request: Any, username: str, folder: str, name: str) -> dict | None:
    """The newest dashboard at that path that the client may see (for /v2/files/lookup)."""
    dashboards = Dashboard.objects.visible_to(request.user).select_related("owner")
    found = dashboards.filter(owner__username=username, folder=folder, title=name).order_by("-pk").first()
    return dashboard_file(found, request) if found is not None else None


def _content(body: dict) -> dict:
    content = body.get("content")
    if isinstance(content, str):
        try:
            content = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise ValidationError(
                {"content": "content is a dashboard as JSON (chart_studio sends json.dumps of it)."}
            ) from None
    if not isinstance(content, dict):
        raise ValidationError({"content": 'content is a dashboard: {"layout": ..., "settings": ..., "version": 2}.'})
    return content


def _save(dashboard: Dashboard, body: dict, request: Request) -> Dashboard:
    """Write a v2 body (content, filename, parent_path, world_readable) into `dashboard`."""
    content = _content(body)
    try:
        panels = panels_of(content)
    except PanelError as error:
        raise ValidationError({"content": str(error)}) from None
    plot_ids = [p.plot for p in panels]
    refused = plots_not_allowed(dashboard.owner, plot_ids)
    owners = dict(Plot.objects.filter(pk__in=plot_ids).values_list("pk", "owner__username"))
    for position, panel in enumerate(panels):
        if panel.plot in refused or owners.get(panel.plot) != panel.plot_owner:
            raise ValidationError(
                {
                    "content": f"box {position + 1}: no plot {panel.plot} of {panel.plot_owner}'s that this "
                    "dashboard may show; a dashboard shows its owner's plots and public ones."
                }
            )
    location = file_location(body)
    if location is not None:
        dashboard.folder, dashboard.title = location
    world_readable = body.get("world_readable")
    if world_readable is True:
        dashboard.sharing = Dashboard.PUBLIC
    elif world_readable is False and dashboard.sharing != Dashboard.SECRET:
        dashboard.sharing = Dashboard.PRIVATE
    dashboard.plotly_content = content
    with transaction.atomic():
        dashboard.save()
        dashboard.set_panels(panels)
    return dashboard


class DashboardsView(APIView):
    """`GET /v2/dashboards` (yours, paged; `?deleted=true` lists the trash, which is always empty)
    and `POST /v2/dashboards` (a new one from `content`, `filename`, `world_readable`)."""

    def get(self, request: Request) -> Response:
        page = request.query_params.get("page", "1")
        number = int(page) if page.isdigit() and int(page) > 0 else 1
        dashboards = Dashboard.objects.filter(owner_id=request.user.pk).select_related("owner").order_by("pk")
        if request.query_params.get("deleted") in ("true", "True", "1"):
            dashboards = dashboards.none()  # deleting a dashboard deletes it: nothing is in the trash
        chunk = list(dashboards[(number - 1) * PAGE_SIZE : number * PAGE_SIZE + 1])
        more = len(chunk) > PAGE_SIZE
        here = request.build_absolute_uri(request.path)
        return Response(
            {
                "results": [dashboard_file(d, request, with_content=True) for d in chunk[:PAGE_SIZE]],
                "next": f"{here}?page={number + 1}" if more else None,
                "prev": f"{here}?page={number - 1}" if number > 1 else None,
            }
        )

    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        dashboard = Dashboard(owner=cast(User, request.user), sharing=Dashboard.PRIVATE)  # signed in
        dashboard = _save(dashboard, body, request)
        return Response(dashboard_file(dashboard, request, with_content=True), status=status.HTTP_201_CREATED)


class DashboardDetailView(APIView):
    """`GET /v2/dashboards/<fid>` (anyone it is shared with; `?share_key=`) and `PUT` (its owner)."""

    def get(self, request: Request, fid: str) -> Response:
        return Response(dashboard_file(_visible(request, fid), request, with_content=True))

    def put(self, request: Request, fid: str) -> Response:
        dashboard = _owned(request, fid)
        body = request.data if isinstance(request.data, dict) else {}
        return Response(dashboard_file(_save(dashboard, body, request), request, with_content=True))

    patch = put


class DashboardFileView(APIView):
    """`GET /v2/files/<fid>` of a dashboard (anyone it is shared with) and `PATCH` (its owner): its
    sharing (`world_readable`, `share_key_enabled`), as chart_studio's `add_share_key_to_url` asks;
    the answer names the share key to its owner."""

    def get(self, request: Request, fid: str) -> Response:
        return Response(dashboard_file(_visible(request, fid), request))

    def patch(self, request: Request, fid: str) -> Response:
        dashboard = _owned(request, fid)
        body = request.data if isinstance(request.data, dict) else {}
        location = file_location(body)
        if location is not None:
            dashboard.folder, dashboard.title = location
        dashboard.sharing = sharing_of(body, dashboard.sharing)
        dashboard.save()
        return Response(dashboard_file(dashboard, request))

    put = patch


def _visible(request: Request, fid: str) -> Dashboard:
    owner, pk = parse_dashboard_fid(fid)
    dashboards = Dashboard.objects.visible_to(request.user, request.query_params.get("share_key"))
    dashboard = dashboards.select_related("owner").filter(pk=pk, owner__username=owner).first()
    if dashboard is None:
        raise NotFound(f"No dashboard {fid}.")
    return dashboard


def _owned(request: Request, fid: str) -> Dashboard:
    dashboard = _visible(request, fid)
    if dashboard.owner_id != request.user.pk:
        raise PermissionDenied(f"Only {dashboard.owner.get_username()} may change {fid}.")
    return dashboard
