"""Which ASGI app takes a connection: streams, viewer sockets, or Django."""

from __future__ import annotations

from typing import Any, cast

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, HTTPScope
from django.urls import path

from base.asgi_types import HTTPSend
from core.stream_requests import is_stream
from streaming.consumers import StreamIngestConsumer
from streaming.viewer import PlotViewerConsumer

# Channels routes ASGI apps with Django's path(), which the stubs type for views only (and the
# pattern Channels' URLRouter takes has no public type).
websocket_urlpatterns: list[Any] = [
    path("ws/plots/<int:plot_id>/", PlotViewerConsumer.as_asgi()),  # type: ignore[arg-type]
]


class StreamOrDjango:
    """A stream's request (core/stream_requests.is_stream) to the ingest door, any other to Django."""

    def __init__(self, django_app: ASGI3Application) -> None:
        self.django_app = django_app
        self.ingest = StreamIngestConsumer()

    async def __call__(self, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if is_stream(scope):
            await self.ingest(scope, receive, cast(HTTPSend, send))
        else:
            await self.django_app(scope, receive, send)
