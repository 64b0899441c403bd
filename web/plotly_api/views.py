"""The views of Plotly's routes: Chart Studio's v2 API and the older /clientresp and
/apigetfile (see web/plotly_api/__init__.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from rest_framework import permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Grid, Plot
from core.plotly_files import file_location, other_file_at, parse_fid, sharing_of, split_path
from web.authentication import ApiKeyAuthentication, SignedInApiRequest, user_for_key
from web.plotly_api.clientresp_form import (
    ClientrespRenderer,
    RawBodyParser,
    clientresp_arguments,
    clientresp_body,
    split_clientresp_form,
)
from web.plotly_api.figures import changed_figure
from web.plotly_api.files import (
    grid_file,
    owner_figure,
    plot_file,
    save_plot,
)
from web.plotly_api.grids import parse_columns

STREAM_STATUS = "All Streams Go!"

# -- the v2 API ----------------------------------------------------------------------------


class PlotlyApiView(APIView):
    """Basic `username:api_key` only: no session, hence no CSRF check."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def owned_plot(self, fid: str) -> Plot:
        owner, pk = parse_fid(fid)
        plots = Plot.objects.visible_to(self.request.user, self.request.query_params.get("share_key"))
        plot = plots.select_related("owner").filter(pk=pk, owner__username=owner).first()
        if plot is None:
            raise NotFound(f"No plot {fid}.")
        if self.request.method not in permissions.SAFE_METHODS and plot.owner_id != self.request.user.pk:
            raise PermissionDenied(f"Only {owner} may change {fid}.")
        return plot


class CurrentUserView(PlotlyApiView):
    def get(self, request: SignedInApiRequest) -> Response:
        user = request.user
        return Response({"username": user.get_username(), "email": user.email, "is_active": user.is_active})


class FileLookupView(PlotlyApiView):
    """The newest plot, else the newest grid, else a file of another app (a dashboard), at a path:
    `GET /v2/files/lookup?path=a/b/name`."""

    def get(self, request: Request) -> Response:
        folder, name = split_path(request.query_params.get("path"))
        username = request.query_params.get("user") or request.user.get_username()
        plots = Plot.objects.visible_to(request.user).filter(owner__username=username, folder=folder, title=name)
        grids = Grid.objects.select_related("owner").filter(owner__username=username, folder=folder, filename=name)
        is_owner = username == request.user.get_username()
        if not is_owner:
            grids = grids.filter(world_readable=True)
        plots = plots.select_related("owner")
        if plot := plots.order_by("-pk").first():
            return Response(plot_file(plot, request, is_owner))
        if grid := grids.order_by("-pk").first():
            return Response(grid_file(grid, request))
        if other := other_file_at(request, username, folder, name):  # a dashboard (core/plotly_files.py)
            return Response(other)
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


# -- /clientresp and /apigetfile: the Node client and plotly.py < 4 -------------------------


def stream_host_url(request) -> str:
    """Where producers stream to: STREAM_PUBLIC_URL, else this host on STREAM_PORT (the stream
    listener speaks plain HTTP), else this site's own address (PUBLIC_URL for a request whose Host
    was not allowed, web/plotly_api/hosts.py)."""
    configured = getattr(settings, "STREAM_PUBLIC_URL", "")
    if configured:
        return configured
    if not settings.STREAM_PORT:
        return request.build_absolute_uri("/").rstrip("/")
    host = request.get_host()
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    port = settings.STREAM_PORT
    return f"http://{hostname}" if port == 80 else f"http://{hostname}:{port}"


class ClientrespView(APIView):
    """`POST /clientresp`: make or change a plot, as `origin` says (web/plotly_api/figures.py):
    `plot` (the default) from `args` (traces) and `kwargs` (options), `style` and `layout` on
    the plot named by kwargs.filename (the Electric Imp library's).

    kwargs: `filename` ('folder/name'), `fileopt` (new, the default; overwrite: replace the
    figure of the plot with that filename; extend: append each trace's arrays to the same
    trace's; append: add the traces), `layout`, `world_readable`, `sharing`. The answer always
    carries `error`, a string, empty on success (the Node client crashes without it), and
    `All Streams Go!` on success (the Arduino library goes on only once it read that). The body
    is read as sent, with or without a Content-Type (the Arduino sends none), and the connection
    closes after the answer (the Arduino reads until it does).
    """

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawBodyParser]
    renderer_classes = [ClientrespRenderer]

    def post(self, request: Request) -> Response:
        raw = request.data if isinstance(request.data, bytes) else b""
        form = split_clientresp_form(raw.decode("utf-8", "replace"))
        user = user_for_key(request, form.get("un", ""), form.get("key", ""))
        if user is None:
            return self.answer(error="Invalid username or API key (un, key).", status=401)
        request.user = user
        origin, args, options = clientresp_arguments(form)
        fileopt = options.get("fileopt") or "new"
        folder, title = split_path(options["filename"], "filename") if options.get("filename") else ("", "")
        with transaction.atomic():
            plot = None
            if title and (fileopt != "new" or origin != "plot"):
                plot = Plot.objects.filter(owner=user, folder=folder, title=title).order_by("-pk").first()
            if origin != "plot" and plot is None:
                missing = f"there is none named {options['filename']!r}" if title else "kwargs.filename is missing"
                raise NotFound(f"origin={origin} changes a plot of yours named by kwargs.filename: {missing}.")
            current = owner_figure(plot) if plot else None
            figure = changed_figure(current, origin, args, options.get("layout"), fileopt)
            sharing = sharing_of(options, plot.sharing if plot else Plot.PUBLIC)
            plot = save_plot(request, plot, figure, title=title, folder=folder, sharing=sharing)
        url = request.build_absolute_uri(plot.get_absolute_url()).rstrip("/")
        if plot.sharing == Plot.SECRET:
            url = f"{url}?share_key={plot.share_key}"
        extra = {"stream-status": STREAM_STATUS, "stream-host": stream_host_url(request)}
        # Dashed names, not parameters: none of them is `status`.
        return self.answer(url=url, filename=plot.title, **extra)  # type: ignore[arg-type]

    def answer(self, status: int = 200, **fields) -> Response:
        return Response(clientresp_body(**fields), status=status, headers={"Connection": "close"})

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code >= 400:
            message = response.data.get("message") if isinstance(response.data, dict) else None
            return self.answer(error=message or "Request failed.", status=response.status_code)
        return response


class ApiGetFileView(APIView):
    """The Node client's `getFigure(owner, id)`: headers plotly-username and plotly-apikey."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def get(self, request: Request, owner: str, pk: int) -> Response:
        username, key = request.headers.get("plotly-username", ""), request.headers.get("plotly-apikey", "")
        user = user_for_key(request, username, key) if username or key else None
        if user is not None:
            request.user = user
        plots = Plot.objects.visible_to(request.user, request.query_params.get("share_key"))
        plot = plots.select_related("owner").filter(pk=pk, owner__username=owner).first()
        if plot is None:
            return Response({"error": f"No plot {owner}:{pk}, or it is not shared with you.", "payload": None}, 404)
        figure = owner_figure(plot) if user is not None and plot.owner_id == user.pk else plot.viewer_figure()
        return Response({"error": "", "warning": "", "message": "", "payload": {"figure": figure}})
