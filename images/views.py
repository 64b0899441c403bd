"""The two ways to an image: `POST /v2/images` (Plotly's chart_studio: `py.image.get`,
`py.image.save_as`) and `/~<user>/<id>.<format>` (a plot as it stands now). Both answer the
image's bytes with its content type, or a JSON refusal that says what is accepted
(docs/images.md)."""

from __future__ import annotations

import orjson
from django.db import connections
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from rest_framework import permissions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.models import Plot
from images.options import ImageOptions, check_figure_bounds, image_options, plotly_figure
from images.renderer import POOL

# An SVG opened at the server's own address is a document: it may run nothing and load nothing.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


class RefusalsAsJson(DefaultContentNegotiation):
    """A refusal is JSON whatever the client accepts: an <img> or a client asking for image/png
    only would otherwise be answered 406 instead of being told what went wrong."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ImageView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = RefusalsAsJson

    def image(self, figure: dict, options: ImageOptions) -> HttpResponse:
        """Draw the figure; the request gives its database connection back first, so that renders
        waiting for a page never hold the connections that streams and pages need."""
        encoded = orjson.dumps(figure).decode()
        check_figure_bounds(figure, len(encoded))
        connections.close_all()
        response = HttpResponse(POOL.render(encoded, options), content_type=options.content_type)
        if options.format == "svg":
            response["Content-Security-Policy"] = SVG_POLICY
        return response


class PlotlyImagesView(ImageView):
    """`POST /v2/images` with {"figure", "format", "width", "height", "scale"}, as chart_studio
    1.1 sends it; HTTP Basic `username:api_key`, as every /v2 call."""

    permission_classes = [permissions.IsAuthenticated]

    def post(self, request: Request) -> HttpResponse:
        body = request.data if isinstance(request.data, dict) else {}
        figure = plotly_figure(body.get("figure"))
        options = image_options(
            body.get("format", "png"), body.get("width"), body.get("height"), body.get("scale"), figure["layout"]
        )
        response = self.image(figure, options)
        patch_cache_control(response, no_store=True)
        return response


class PlotImageView(ImageView):
    """`/~<user>/<id>.png|.jpeg|.svg|.pdf?width=&height=&scale=`: the plot as its viewers see it
    now (Plot.viewer_figure: streamed windows, layout and annotations), to whoever may see the plot
    (its sharing; `share_key` for a secret one)."""

    permission_classes = [permissions.AllowAny]

    def get(self, request: Request, username: str, pk: int, extension: str) -> HttpResponse:
        plots = Plot.objects.filter(owner__username=username)
        plot = plots.visible_or_404(request.user, request.query_params.get("share_key"), pk)
        figure = plot.viewer_figure()
        query = request.query_params
        options = image_options(
            extension, query.get("width"), query.get("height"), query.get("scale"), figure["layout"]
        )
        response = self.image(figure, options)
        response["Content-Disposition"] = (
            f'inline; filename="{slugify(plot.title) or "plot"}-{plot.pk}.{options.format}"'
        )
        # Live plots change: every fetch is drawn anew; only the public ones may be kept by proxies.
        patch_cache_control(response, no_cache=True, **({} if plot.sharing == Plot.PUBLIC else {"private": True}))
        return response
