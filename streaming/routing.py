"""Which ASGI app takes a connection: streams, viewer sockets, or Django."""

from __future__ import annotations

from typing import Any, cast

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, HTTPScope
from django.urls import path

from base.asgi_types import HTTPSend
from streaming.consumers import StreamIngestConsumer, stream_token_of
from streaming.viewer import PlotViewerConsumer

# Channels routes ASGI apps with Django's path(), which the stubs type for views only (and the
# pattern Channels' URLRouter takes has no public type).
websocket_urlpatterns: list[Any] = [
    path("ws/plots/<int:plot_id>/", PlotViewerConsumer.as_asgi()),  # type: ignore[arg-type]
]


class StreamOrDjango:
    """Any request that carries `plotly-streamtoken`, on any path, is a stream; so is a POST to `/`.

    Plotly's clients post to `/`, which is also the plot list page; the header tells them apart.
    """

    def __init__(self, django_app: ASGI3Application) -> None:
        self.django_app = django_app
        self.ingest = StreamIngestConsumer()

    async def __call__(self, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        # A POST to / without the header is a stream whose lines name their token (Plotly's
        # Arduino library), or a producer that forgot it: its lines are answered, never a page.
        forgot_token = scope["method"] == "POST" and scope["path"] == "/"
        if forgot_token or stream_token_of(scope) is not None:
            await self.ingest(scope, receive, cast(HTTPSend, send))
        else:
            await self.django_app(scope, receive, send)
