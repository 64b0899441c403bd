"""Plotly's own REST APIs, so that its clients work unchanged against plotserver.

- Chart Studio's v2 API, as `chart_studio` 1.1.0 (Python) calls it: users/current,
  files/lookup, folders, grids, plots and a plot's content.
- The older `/clientresp` form API of the Node client and of plotly.py before version 4,
  and `/apigetfile/<owner>/<id>`, the Node client's `getFigure`.

Both map Plotly's files onto plotserver's models: a plot's filename is its title, its parent
path is `Plot.folder`, and its fid is `owner:<plot id>`. chart_studio uploads a figure's arrays
as a grid and sends the plot with `xsrc`-style references; those are resolved into inline data
when the plot is saved, so every page, socket and REST endpoint shows plain traces.

Routes have no trailing slash, take no CSRF token, and answer errors as
`{"errors": [{"message": ...}]}` (chart_studio reads that; see research/plotly-clients.md).
They never answer 5xx on purpose: chart_studio retries a 5xx for three minutes.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, cast
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import transaction
from django.urls import path
from rest_framework import permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from plots.authentication import ApiKeyAuthentication, SignedInApiRequest, user_for_key
from plots.models import Grid, Plot
from plots.parsers import JsonTooDeep, load_json
from plots.serializers import PlotSerializer
from streaming.snapshots import traces_with_windows

# Both are CharFields, whose max_length is always set.
MAX_FOLDER_LENGTH = cast(int, Plot._meta.get_field("folder").max_length)
MAX_FILENAME_LENGTH = cast(int, Plot._meta.get_field("title").max_length)
STREAM_STATUS = "All Streams Go!"

# -- names, paths and ids ------------------------------------------------------------------


def split_path(value: object, where: str = "path") -> tuple[str, str]:
    """'a/b/name' -> ('a/b', 'name'), checked; surrounding slashes are ignored as Plotly did."""
    if not isinstance(value, str) or not value.strip("/"):
        raise ValidationError({where: "A file path is a non-empty string like 'folder/name'."})
    parts = value.strip("/").split("/")
    if any(not part.strip() for part in parts):
        raise ValidationError({where: f"{value!r} has an empty folder name."})
    folder, name = "/".join(parts[:-1]), parts[-1]
    if len(name) > MAX_FILENAME_LENGTH or len(folder) > MAX_FOLDER_LENGTH:
        raise ValidationError(
            {where: f"Names are at most {MAX_FILENAME_LENGTH} characters, folders at most {MAX_FOLDER_LENGTH}."}
        )
    return folder, name


def file_location(body: dict) -> tuple[str, str] | None:
    """(folder, filename) from a v2 body's `filename` and `parent_path`, or None without a filename."""
    filename = body.get("filename")
    if filename in (None, ""):
        return None
    parent = body.get("parent_path") or ""
    if not isinstance(parent, str):
        raise ValidationError({"parent_path": "parent_path is a string like 'folder/sub'."})
    return split_path(f"{parent.strip('/')}/{filename}" if parent.strip("/") else filename, "filename")


def parse_fid(fid: str) -> tuple[str, int]:
    owner, _, local_id = fid.rpartition(":")
    if not owner or not local_id.isdigit():
        raise NotFound(f"{fid!r} is not a file id; file ids look like 'username:7'.")
    return owner, int(local_id)


def fid_of(obj: Plot | Grid) -> str:
    return f"{obj.owner.get_username()}:{obj.pk}"


def layout_title(layout: dict) -> str:
    title = layout.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    return title[:MAX_FILENAME_LENGTH] if isinstance(title, str) else ""


def sharing_of(body: dict, default: str = Plot.PUBLIC) -> str:
    """Plotly's `world_readable` / `share_key_enabled` / `sharing` as one of Plot's sharings."""
    sharing = body.get("sharing")
    if sharing in (Plot.PUBLIC, Plot.PRIVATE, Plot.SECRET):
        return sharing
    if body.get("share_key_enabled") is True:
        return Plot.SECRET
    world_readable = body.get("world_readable")
    if isinstance(world_readable, bool):
        return Plot.PUBLIC if world_readable else Plot.PRIVATE
    return default


# -- grids: the arrays chart_studio uploads, and the references to them --------------------

SOURCE_REFERENCE = re.compile(r"^(?P<owner>[^:]+):(?P<grid>\d+):(?P<uid>[A-Za-z0-9_-]+)$")


def inline_sources(figure: dict, owner) -> dict:
    """Replace every `<attr>src: "owner:grid:uid"` in the figure by `<attr>: [the column's data]`.

    Only the owner's own grids are read. A reference that names no such column is an error:
    the plot would otherwise silently show nothing.
    """
    grids: dict[int, dict[str, list]] = {}

    def column(reference: str, where: str) -> list:
        match = SOURCE_REFERENCE.match(reference)
        if match is None or match["owner"] != owner.get_username():
            raise ValidationError({where: f"{reference!r} is not a column of one of your grids."})
        grid_id = int(match["grid"])
        if grid_id not in grids:
            grid = Grid.objects.filter(owner=owner, pk=grid_id).first()
            grids[grid_id] = {c["uid"]: c["data"] for c in grid.columns} if grid else {}
        data = grids[grid_id].get(match["uid"])
        if data is None:
            raise ValidationError({where: f"{reference!r} is not a column of one of your grids."})
        return list(data)

    def walk(node: object, where: str) -> object:
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if key.endswith("src") and len(key) > 3 and isinstance(value, str) and ":" in value:
                    node[key[:-3]] = column(value, f"{where}.{key}")
                    del node[key]
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for position, item in enumerate(node):
                walk(item, f"{where}[{position}]")
        return node

    walk(figure, "figure")
    return figure


def parse_columns(data: object) -> list[dict]:
    """A v2 grid body's `data.cols` as stored columns, each given a fresh uid."""
    cols = data.get("cols") if isinstance(data, dict) else None
    if not isinstance(cols, dict):
        raise ValidationError({"data": 'Expected {"cols": {"name": {"data": [...], "order": 0}, ...}}.'})
    columns, uids = [], set()
    for position, (name, col) in enumerate(cols.items()):
        if not isinstance(col, dict) or not isinstance(col.get("data"), list):
            raise ValidationError({f"data.cols.{name}": 'Expected {"data": [...], "order": n}.'})
        order = col.get("order", position)
        uid = secrets.token_hex(3)
        while uid in uids:
            uid = secrets.token_hex(3)
        uids.add(uid)
        columns.append(
            {"name": name, "uid": uid, "order": order if isinstance(order, int) else position, "data": col["data"]}
        )
    columns.sort(key=lambda c: c["order"])
    return columns


# -- what the v2 API answers about a file --------------------------------------------------


def plot_file(plot: Plot, request, is_owner: bool) -> dict:
    # web_url keeps its trailing slash: chart_studio cuts the last character to add ?share_key=.
    info = {
        "fid": fid_of(plot),
        "filename": plot.title,
        "parent_path": plot.folder,
        "filetype": "plot",
        "owner": plot.owner.get_username(),
        "web_url": request.build_absolute_uri(plot.get_absolute_url()),
        "embed_url": request.build_absolute_uri(plot.embed_path()),
        "world_readable": plot.sharing == Plot.PUBLIC,
        "share_key_enabled": plot.sharing == Plot.SECRET,
        "date_created": plot.created.isoformat(),
        "date_modified": plot.updated.isoformat(),
    }
    if is_owner and plot.sharing == Plot.SECRET:
        info["share_key"] = plot.share_key
    return info


def grid_file(grid: Grid, request) -> dict:
    fid = fid_of(grid)
    return {
        "fid": fid,
        "filename": grid.filename,
        "parent_path": grid.folder,
        "filetype": "grid",
        "owner": grid.owner.get_username(),
        "web_url": request.build_absolute_uri(f"/v2/grids/{fid}/content"),
        "world_readable": grid.world_readable,
        "cols": [{"name": c["name"], "uid": c["uid"]} for c in grid.columns],
        "date_created": grid.created.isoformat(),
    }


def owner_figure(plot: Plot) -> dict:
    """The figure as Plotly's API gave it to the owner: current data inline, `stream` kept."""
    traces = traces_with_windows(plot.traces.select_related("stream_token"))
    return {"data": [t.plotly_spec() for t in traces], "layout": plot.layout}


def save_plot(request, plot: Plot | None, figure: object, *, title: str, folder: str, sharing: str) -> Plot:
    """Create or replace a plot from a Plotly figure, through the one plot serializer."""
    if not isinstance(figure, dict):
        raise ValidationError({"figure": 'Expected {"data": [traces], "layout": {...}}.'})
    figure = inline_sources(figure, request.user)
    if not title:
        title = layout_title(figure.get("layout") or {}) if isinstance(figure.get("layout"), dict) else ""
    serializer = PlotSerializer(
        plot,
        data={"title": title, "sharing": sharing, "figure": figure},
        # Old clients send what plotly.js once knew; tokens are still kept out of sight.
        context={"request": request, "lenient_figure": True},
    )
    serializer.is_valid(raise_exception=True)
    return serializer.save(owner=request.user, folder=folder) if plot is None else serializer.save(folder=folder)


# -- the v2 views --------------------------------------------------------------------------


class PlotlyApiView(APIView):
    """Basic `username:api_key` only: no session, hence no CSRF check."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def owned_plot(self, fid: str) -> Plot:
        owner, pk = parse_fid(fid)
        plot = Plot.objects.select_related("owner").filter(pk=pk, owner__username=owner).first()
        if plot is None or not plot.can_view(self.request.user, self.request.query_params.get("share_key")):
            raise NotFound(f"No plot {fid}.")
        if self.request.method not in permissions.SAFE_METHODS and plot.owner_id != self.request.user.pk:
            raise PermissionDenied(f"Only {owner} may change {fid}.")
        return plot


class CurrentUserView(PlotlyApiView):
    def get(self, request: SignedInApiRequest) -> Response:
        user = request.user
        return Response({"username": user.get_username(), "email": user.email, "is_active": user.is_active})


class FileLookupView(PlotlyApiView):
    """The newest plot, else the newest grid, at a path: `GET /v2/files/lookup?path=a/b/name`."""

    def get(self, request: Request) -> Response:
        folder, name = split_path(request.query_params.get("path"))
        username = request.query_params.get("user") or request.user.get_username()
        plots = Plot.objects.select_related("owner").filter(owner__username=username, folder=folder, title=name)
        grids = Grid.objects.select_related("owner").filter(owner__username=username, folder=folder, filename=name)
        is_owner = username == request.user.get_username()
        if not is_owner:
            plots, grids = plots.filter(sharing=Plot.PUBLIC), grids.filter(world_readable=True)
        if plot := plots.order_by("-pk").first():
            return Response(plot_file(plot, request, is_owner))
        if grid := grids.order_by("-pk").first():
            return Response(grid_file(grid, request))
        raise NotFound(f"No file at {request.query_params.get('path')!r}.")


class FoldersView(PlotlyApiView):
    """Folders are only a path on each file, so making one just checks the path."""

    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        parent, name = split_path(body.get("path"))
        return Response(
            {
                "file": {
                    "filename": name,
                    "parent_path": parent,
                    "filetype": "fold",
                    "owner": request.user.get_username(),
                }
            },
            status=status.HTTP_201_CREATED,
        )


class GridsView(PlotlyApiView):
    def post(self, request: SignedInApiRequest) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        columns = parse_columns(body.get("data"))
        folder, filename = file_location(body) or ("", "")
        with transaction.atomic():
            if filename:
                # Uploading under a taken name replaces the old grid (chart_studio deletes it first anyway).
                Grid.objects.filter(owner=request.user, folder=folder, filename=filename).delete()
            grid = Grid.objects.create(
                owner=request.user,
                filename=filename,
                folder=folder,
                columns=columns,
                world_readable=body.get("world_readable") is not False,
            )
        return Response({"file": grid_file(grid, request)}, status=status.HTTP_201_CREATED)


class GridDetailView(PlotlyApiView):
    def grid(self, fid: str) -> Grid:
        owner, pk = parse_fid(fid)
        grid = Grid.objects.select_related("owner").filter(pk=pk, owner__username=owner).first()
        if grid is None or (grid.owner_id != self.request.user.pk and not grid.world_readable):
            raise NotFound(f"No grid {fid}.")
        if self.request.method not in permissions.SAFE_METHODS and grid.owner_id != self.request.user.pk:
            raise PermissionDenied(f"Only {owner} may change {fid}.")
        return grid

    def get(self, request: Request, fid: str) -> Response:
        return Response(grid_file(self.grid(fid), request))

    def delete(self, request: Request, fid: str) -> Response:
        self.grid(fid).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class GridContentView(GridDetailView):
    def get(self, request: Request, fid: str) -> Response:
        columns = self.grid(fid).columns
        return Response(
            {"cols": {c["name"]: {"data": c["data"], "order": c["order"], "uid": c["uid"]} for c in columns}}
        )


class PlotsView(PlotlyApiView):
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        folder, title = file_location(body) or ("", "")
        with transaction.atomic():
            plot = save_plot(request, None, body.get("figure"), title=title, folder=folder, sharing=sharing_of(body))
        return Response({"file": plot_file(plot, request, True)}, status=status.HTTP_201_CREATED)


class PlotDetailView(PlotlyApiView):
    def get(self, request: Request, fid: str) -> Response:
        plot = self.owned_plot(fid)
        return Response(plot_file(plot, request, plot.owner_id == request.user.pk))

    def put(self, request: Request, fid: str) -> Response:
        """Replace the plot's figure (chart_studio's re-plot under the same filename)."""
        plot = self.owned_plot(fid)
        body = request.data if isinstance(request.data, dict) else {}
        folder, title = file_location(body) or (plot.folder, plot.title)
        figure = body.get("figure", owner_figure(plot))
        with transaction.atomic():
            plot = save_plot(request, plot, figure, title=title, folder=folder, sharing=sharing_of(body, plot.sharing))
        return Response({"file": plot_file(plot, request, True)})


class PlotContentView(PlotlyApiView):
    """`get_figure`: the bare figure, data inline (`inline_data=true` is the only way it comes)."""

    permission_classes = [permissions.AllowAny]

    def get(self, request: Request, fid: str) -> Response:
        plot = self.owned_plot(fid)
        return Response(owner_figure(plot) if plot.owner_id == request.user.pk else plot.viewer_figure())


# -- /clientresp: the form API of the Node client and of plotly.py < 4 ---------------------

FORM_FIELDS = ("platform", "version", "args", "kwargs", "un", "key", "origin")
FORM_SPLIT = re.compile(r"(?:^|&)(" + "|".join(FORM_FIELDS) + r")=")
FORM_JSON_FIELDS = ("args", "kwargs")
FILEOPTS = ("new", "overwrite", "extend", "append")


def split_clientresp_form(raw: str) -> dict[str, str]:
    """The fields of a /clientresp body by name, as text; `args` and `kwargs` still JSON.

    The Node client joins `key=value` pairs without URL-encoding, so JSON values hold raw `&`,
    `+` and `%` that a form parser would mangle; plotly.py < 4 encodes properly. A body with
    raw JSON punctuation is taken as unencoded; the fields are split on the known names.
    Splitting is cheap, so the API key in `un` and `key` is checked before any JSON is parsed.
    """
    encoded = not re.search(r'[\[\]{}"]', raw)
    pieces = FORM_SPLIT.split(raw)
    fields: dict[str, str] = {}
    for name, value in zip(pieces[1::2], pieces[2::2], strict=True):
        fields[name] = unquote_plus(value) if encoded else value
    return fields


def form_json(fields: dict[str, str], name: str, default: object) -> object:
    """A JSON field of the form, parsed with the API's depth bound (unencoded, else URL-decoded)."""
    if name not in fields:
        return default
    value = fields[name]
    try:
        return load_json(value)
    except JsonTooDeep as exc:
        raise ValidationError(f"{name}: {exc}") from None
    except ValueError:
        try:
            return load_json(unquote_plus(value))
        except JsonTooDeep as exc:
            raise ValidationError(f"{name}: {exc}") from None
        except ValueError:
            raise ValidationError(f"{name} is not JSON.") from None


def parse_clientresp_form(raw: str) -> dict[str, object]:
    """Every field of a /clientresp body, `args` and `kwargs` parsed."""
    raw_fields = dict(split_clientresp_form(raw))
    fields: dict[str, object] = dict(raw_fields)
    for name in FORM_JSON_FIELDS:
        if name in fields:
            fields[name] = form_json(raw_fields, name, None)
    return fields


class RawBodyParser(BaseParser):
    """Leaves the body to the view: Django's form parsing would corrupt the Node client's."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


def stream_host_url(request) -> str:
    """Where producers stream to: STREAM_PUBLIC_URL, else this host on STREAM_PORT (or this port)."""
    configured = getattr(settings, "STREAM_PUBLIC_URL", "")
    if configured:
        return configured
    host = request.get_host()
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    port = settings.STREAM_PORT or int(request.get_port())
    return f"http://{hostname}" if port == 80 else f"http://{hostname}:{port}"


class ClientrespView(APIView):
    """`POST /clientresp`: make or change a plot from `args` (traces) and `kwargs` (options).

    kwargs: `filename` ('folder/name'), `fileopt` (new, the default; overwrite: replace the
    figure of the plot with that filename; extend: append each trace's arrays to the same
    trace's; append: add the traces), `layout`, `world_readable`, `sharing`. The answer always
    carries `error`, a string, empty on success (the Node client crashes without it).
    """

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawBodyParser]

    def post(self, request: Request) -> Response:
        raw = request.data if isinstance(request.data, bytes) else b""
        form = split_clientresp_form(raw.decode("utf-8", "replace"))
        user = user_for_key(request, form.get("un", ""), form.get("key", ""))
        if user is None:
            return self.answer(error="Invalid username or API key (un, key).", status=401)
        request.user = user
        traces = form_json(form, "args", [])
        traces = [traces] if isinstance(traces, dict) else traces
        options = form_json(form, "kwargs", None) or {}
        if not isinstance(traces, list) or not isinstance(options, dict):
            raise ValidationError("args is a list of traces and kwargs an object of options.")
        fileopt = options.get("fileopt") or "new"
        if fileopt not in FILEOPTS:
            raise ValidationError(f"fileopt is one of {', '.join(FILEOPTS)}, not {fileopt!r}.")
        layout = options.get("layout")
        if layout is not None and not isinstance(layout, dict):
            raise ValidationError("kwargs.layout is an object.")
        folder, title = split_path(options["filename"], "filename") if options.get("filename") else ("", "")

        with transaction.atomic():
            plot = None
            if title and fileopt != "new":
                plot = Plot.objects.filter(owner=user, folder=folder, title=title).order_by("-pk").first()
            if plot is None:
                figure: dict[str, Any] = {"data": traces, "layout": layout or {}}
            else:
                figure = owner_figure(plot)
                if fileopt == "overwrite":
                    figure["data"] = traces
                elif fileopt == "append":
                    figure["data"].extend(traces)
                else:
                    extend_traces(figure["data"], traces)
                if layout is not None:
                    figure["layout"] = layout
            sharing = sharing_of(options, plot.sharing if plot else Plot.PUBLIC)
            plot = save_plot(request, plot, figure, title=title, folder=folder, sharing=sharing)

        url = request.build_absolute_uri(plot.get_absolute_url()).rstrip("/")
        if plot.sharing == Plot.SECRET:
            url = f"{url}?share_key={plot.share_key}"
        return self.answer(
            url=url,
            filename=plot.title,
            # Dashed names, not parameters: none of them is `status`.
            **{  # type: ignore[arg-type]
                "stream-status": STREAM_STATUS,
                "stream-host": stream_host_url(request),
            },
        )

    def answer(self, status: int = 200, **fields) -> Response:
        body = {"url": "", "message": "", "warning": "", "filename": "", "error": "", **fields}
        return Response(body, status=status)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code >= 400:
            message = response.data.get("message") if isinstance(response.data, dict) else None
            return self.answer(error=message or "Request failed.", status=response.status_code)
        return response


def extend_traces(existing: list[dict], additions: list) -> None:
    """fileopt=extend: each new trace's arrays are appended to the same-numbered trace's."""
    for position, addition in enumerate(additions):
        if not isinstance(addition, dict):
            raise ValidationError({f"args[{position}]": "A trace must be a JSON object."})
        if position >= len(existing):
            existing.append(addition)
            continue
        trace = existing[position]
        for key, value in addition.items():
            if isinstance(value, list) and isinstance(trace.get(key), list):
                trace[key] = trace[key] + value
            else:
                trace[key] = value


class ApiGetFileView(APIView):
    """The Node client's `getFigure(owner, id)`: headers plotly-username and plotly-apikey."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def get(self, request: Request, owner: str, pk: int) -> Response:
        username, key = request.headers.get("plotly-username", ""), request.headers.get("plotly-apikey", "")
        user = user_for_key(request, username, key) if username or key else None
        if user is not None:
            request.user = user
        plot = Plot.objects.select_related("owner").filter(pk=pk, owner__username=owner).first()
        if plot is None or not plot.can_view(request.user, request.query_params.get("share_key")):
            return Response({"error": f"No plot {owner}:{pk}, or it is not shared with you.", "payload": None}, 404)
        figure = owner_figure(plot) if user is not None and plot.owner_id == user.pk else plot.viewer_figure()
        return Response({"error": "", "warning": "", "message": "", "payload": {"figure": figure}})


urlpatterns = [
    path("v2/users/current", CurrentUserView.as_view()),
    path("v2/files/lookup", FileLookupView.as_view()),
    path("v2/folders", FoldersView.as_view()),
    path("v2/grids", GridsView.as_view()),
    path("v2/grids/<str:fid>", GridDetailView.as_view()),
    path("v2/grids/<str:fid>/content", GridContentView.as_view()),
    path("v2/plots", PlotsView.as_view()),
    path("v2/plots/<str:fid>", PlotDetailView.as_view()),
    path("v2/plots/<str:fid>/content", PlotContentView.as_view()),
    path("clientresp", ClientrespView.as_view()),
    path("apigetfile/<str:owner>/<int:pk>", ApiGetFileView.as_view()),
]
