"""The channel-layer group of a dashboard's open sockets and its one message.

`dashboard_group(dashboard_id)`: the open sockets of a dashboard (dashboards/socket.py).
`dashboard.changed`: who may see it, or which plots it shows, changed; only its sockets ask the
rule again, no plot is re-read and no other viewer of its plots hears of it.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from streaming.events import send_from_sync


class DashboardChanged(TypedDict):
    type: Literal["dashboard.changed"]
    dashboard: int


def dashboard_group(dashboard_id: int) -> str:
    return f"dashboard-{dashboard_id}"


def announce_dashboard_changed(dashboard_id: int) -> None:
    """Tell a dashboard's open sockets to ask its rule again. Called from sync code once the
    change committed."""
    message: DashboardChanged = {"type": "dashboard.changed", "dashboard": dashboard_id}
    send_from_sync(dashboard_group(dashboard_id), message)
