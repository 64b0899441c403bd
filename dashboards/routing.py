"""The dashboard socket's route (plotserver/asgi.py puts it beside the viewer socket's)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from dashboards.socket import DashboardSocket

websocket_urlpatterns: list[Any] = [
    path("ws/dashboards/<int:dashboard_id>/", DashboardSocket.as_asgi()),  # type: ignore[arg-type]
]
