"""Plotly's files on plotserver's models: a plot's filename is its title, its parent path is
`Plot.folder`, and its fid is `owner:<plot id>`; what the v2 API answers about a file; saving a
Plotly figure as a plot."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

from core.models import Grid, Plot, isostring
from core.models.windows import traces_with_windows
from core.plotly_files import MAX_FILENAME_LENGTH
from web.plotly_api.grids import inline_sources
from web.serializers import PlotSerializer


def fid_of(obj: Plot | Grid) -> str:
    return f"{obj.owner.get_username()}:{obj.pk}"


def layout_title(layout: dict) -> str:
    title = layout.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    return title[:MAX_FILENAME_LENGTH] if isinstance(title, str) else ""


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
        "date_created": isostring(plot.created),
        "date_modified": isostring(plot.updated),
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
        "date_created": isostring(grid.created),
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
