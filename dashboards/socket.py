"""The dashboard socket, `/ws/dashboards/<id>/`: every panel's plot live over one WebSocket.

The multiplexed form of the viewer protocol (docs/websocket.md, "Dashboards"): one viewer per
plot of the dashboard (streaming/viewer.py's ViewerSocket, each with its own position, held
updates and send queue bounded by VIEWER_SEND_QUEUE_BYTES), all writing to the one socket
through one send path, every message tagged with its plot: `{"plot_id": 7, "type": ...}`. The
relay (streaming/relay.py) still holds one subscription per plot per process, whatever number of
plot pages and dashboards show it.

Who may see a panel's plot is asked through the dashboard on every read: the visitor may see
the dashboard (its share key, if secret, admits them) and the dashboard shows the plot
(Dashboard.shows). The plot is then read as the dashboard's owner reads it. A panel that may no
longer be read closes alone (an `error` tagged with its plot); the socket closes with 4404 when
the dashboard itself is no longer shared with the visitor. A change to the dashboard comes
through its own group (dashboards/events.py): the panels ask the rule again,
and no plot is read again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast
from urllib.parse import parse_qs, urlencode

import orjson
from asgiref.typing import ASGIReceiveCallable, WebSocketScope
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from base import metrics
from base.asgi_types import WebSocketAccept, WebSocketClose, WebSocketSend, WebSocketSendText
from base.rate_limited_log import RateLimitedLog
from base.timeouts import within
from core.models import Plot
from dashboards.events import dashboard_group
from dashboards.models import Dashboard, Visitor
from streaming.events import ChannelLayer, channel_layer
from streaming.relay import PlotRelay, get_relay
from streaming.viewer import CLOSE_DELETED, CLOSE_NOT_SHARED, CLOSE_TIMEOUT, ViewerScope, ViewerSocket, client_messages
from streaming.viewer_messages import CatchUp, Snapshot
from streaming.viewer_sync import ViewerSync

log = logging.getLogger("plotserver.dashboards")
_failures = RateLimitedLog(log)

# Seconds between a socket's renewals of its place in its dashboard's group (a channel layer
# that lost it, restarted, is joined again within this).
REJOIN_INTERVAL = 60
DASHBOARD_NOT_SHARED = {"type": "error", "status": 404, "message": "no such dashboard, or not shared with you"}


def open_dashboard(dashboard_id: int, visitor: Visitor, share_key: str | None) -> tuple[Visitor, list[int]] | None:
    """The dashboard's owner and its plots (each once, in panel order), or None when the
    visitor may not see the dashboard."""
    dashboard = Dashboard.objects.visible_to(visitor, share_key).select_related("owner").filter(pk=dashboard_id).first()
    if dashboard is None:
        return None
    plot_ids = list(dict.fromkeys(dashboard.panels.values_list("plot_id", flat=True)))
    return dashboard.owner, plot_ids


def grants(dashboard_id: int, visitor: Visitor, share_key: str | None, plot_id: int | None = None) -> bool:
    """Whether the visitor may see the dashboard and, when `plot_id` is given, it shows that plot."""
    dashboard = Dashboard.objects.visible_to(visitor, share_key).select_related("owner").filter(pk=dashboard_id).first()
    return dashboard is not None and (plot_id is None or dashboard.shows(plot_id))


class TaggedFrames:
    """Each plot's latest frame with the plot in front, built once per frame in this process
    for every dashboard socket that shows the plot (the relay shares one text per frame).

    Every message is a JSON object: the tag goes in front of its first key, and the frame is
    not encoded again. A plot's entry lives while some panel of this process shows it."""

    def __init__(self) -> None:
        self.panels: dict[int, int] = {}
        self.latest: dict[int, tuple[str, str]] = {}

    def join(self, plot_id: int) -> None:
        self.panels[plot_id] = self.panels.get(plot_id, 0) + 1

    def leave(self, plot_id: int) -> None:
        left = self.panels.get(plot_id, 0) - 1
        if left > 0:
            self.panels[plot_id] = left
        else:
            self.panels.pop(plot_id, None)
            self.latest.pop(plot_id, None)

    def tag(self, plot_id: int, text: str) -> str:
        latest = self.latest.get(plot_id)
        if latest is not None and latest[0] is text:
            return latest[1]
        tagged = f'{{"plot_id":{int(plot_id)},' + text[1:]
        if plot_id in self.panels:
            self.latest[plot_id] = (text, tagged)
        return tagged


TAGGED = TaggedFrames()


def shown_plots(dashboard_id: int, visitor: Visitor, share_key: str | None) -> set[int] | None:
    """The plots the dashboard shows now (Dashboard.shows, asked of all its panels at once), or
    None when the visitor may no longer see the dashboard."""
    dashboard = Dashboard.objects.visible_to(visitor, share_key).select_related("owner").filter(pk=dashboard_id).first()
    if dashboard is None:
        return None
    on_it = dashboard.panels.values_list("plot_id", flat=True)
    return set(Plot.objects.visible_to(dashboard.owner).filter(pk__in=on_it).values_list("pk", flat=True))


class SharedSend:
    """The one send path of a dashboard's socket: each panel's frames, tagged with its plot, one at a time."""

    def __init__(self, send: WebSocketSend) -> None:
        self.send = send
        self.lock = asyncio.Lock()

    def of_plot(self, plot_id: int) -> WebSocketSend:
        async def send(message: WebSocketAccept | WebSocketSendText | WebSocketClose) -> None:
            if message["type"] == "websocket.send":
                message = {"type": "websocket.send", "text": TAGGED.tag(plot_id, message["text"])}
            async with self.lock:
                await self.send(message)

        return send

    async def whole(self, message: dict) -> None:
        """A message of the socket itself, untagged."""
        async with self.lock:
            await self.send({"type": "websocket.send", "text": orjson.dumps(message).decode()})


class PanelSync(ViewerSync):
    """A panel's reads: the dashboard's rule first, then the plot as its owner sees it."""

    viewer: PanelViewer

    async def _read(self, mode: str) -> Snapshot | CatchUp | None:
        panel = self.viewer
        if not await database_sync_to_async(grants)(
            panel.dashboard_id, panel.visitor, panel.dashboard_key, panel.plot_id
        ):
            return None
        return await super()._read(mode)


class PanelViewer(ViewerSocket):
    """One plot of a dashboard's socket: a viewer of the plot that reads it through the dashboard."""

    def __init__(
        self,
        dashboard_id: int,
        plot_id: int,
        owner: Visitor,
        visitor: Visitor,
        share_key: str | None,
        since: object,
        send: WebSocketSend,
    ) -> None:
        query = {"presence": "1"}
        if since is not None:
            query["since"] = orjson.dumps(since).decode()
        scope = {
            "url_route": {"kwargs": {"plot_id": plot_id}},
            "user": owner,
            "query_string": urlencode(query).encode(),
        }
        super().__init__(cast(ViewerScope, scope), send)
        self.dashboard_id = dashboard_id
        self.visitor = visitor
        self.dashboard_key = share_key
        self.sync = PanelSync(self)


class DashboardSocket:
    """The ASGI app of the dashboard socket (behind Channels' auth middleware and URL router)."""

    @classmethod
    def as_asgi(cls) -> DashboardSocket:
        return cls()

    async def __call__(self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: WebSocketSend) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        metrics.VIEWERS.inc()
        try:
            await self.serve(cast(ViewerScope, scope), receive, send)
        finally:
            metrics.VIEWERS.dec()

    async def serve(self, scope: ViewerScope, receive: ASGIReceiveCallable, send: WebSocketSend) -> None:
        dashboard_id = int(scope["url_route"]["kwargs"]["dashboard_id"])
        visitor: Visitor = scope["user"] if "user" in scope else AnonymousUser()
        query = parse_qs(scope.get("query_string", b"").decode())
        share_key = query["share_key"][0] if "share_key" in query else None
        since = _since(query["since"][0] if "since" in query else None)
        shared = SharedSend(send)

        opened = await database_sync_to_async(open_dashboard)(dashboard_id, visitor, share_key)
        if opened is None:
            try:
                await within(shared.whole(DASHBOARD_NOT_SHARED), CLOSE_TIMEOUT)
                await within(send({"type": "websocket.close", "code": CLOSE_NOT_SHARED}), CLOSE_TIMEOUT)
            except Exception:
                log.debug("dashboard %s: the refusal did not go through", dashboard_id)
            return
        owner, plot_ids = opened
        relay = await get_relay()
        panels: dict[asyncio.Task[None], PanelViewer] = {}
        reader = asyncio.create_task(self.read_loop(receive, panels))
        watcher = asyncio.create_task(self.watch(dashboard_id, visitor, share_key, panels))
        close_code: int | None = None
        try:
            for plot_id in plot_ids:
                panel = PanelViewer(
                    dashboard_id, plot_id, owner, visitor, share_key, since.get(str(plot_id)), shared.of_plot(plot_id)
                )
                # Join first: what is published while the first read runs is held, not missed.
                await relay.join(plot_id, panel)
                panel.write_task = asyncio.create_task(panel.write_loop())
                panels[panel.write_task] = panel
                TAGGED.join(plot_id)
                panel.begin()
            while True:
                done, _ = await asyncio.wait({reader, *panels}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    break
                close_code = await self._panels_ended(done, panels, relay, shared, (dashboard_id, visitor, share_key))
                if close_code is not None:
                    break
        finally:
            client_left = reader.done()
            for panel in panels.values():
                await relay.leave(panel.plot_id, panel)
                TAGGED.leave(panel.plot_id)
                panel.stop()
            reader.cancel()
            watcher.cancel()
            await asyncio.wait({watcher})  # it leaves the dashboard's group (CHANNEL_LAYER_TIMEOUT at most)
        if close_code and not client_left:
            try:
                await within(send({"type": "websocket.close", "code": close_code}), CLOSE_TIMEOUT)
            except Exception:
                log.debug("dashboard %s: the close did not go through", dashboard_id)

    async def _panels_ended(
        self,
        done: set[asyncio.Task[None]],
        panels: dict[asyncio.Task[None], PanelViewer],
        relay: PlotRelay,
        shared: SharedSend,
        access: tuple[int, Visitor, str | None],
    ) -> int | None:
        """Some panels' write loops ended. A panel closed for its plot alone (not shared, deleted)
        ends alone; any other end (too slow, an error, the client gone) ends the socket, with the
        code to close it with (0: no close to send)."""
        ended_alone = False
        for task in done:
            panel = panels.pop(task)
            await relay.leave(panel.plot_id, panel)
            TAGGED.leave(panel.plot_id)
            panel.stop()
            if panel.close_code not in (CLOSE_NOT_SHARED, CLOSE_DELETED):
                return panel.close_code or 0
            ended_alone = True
        if ended_alone and not await database_sync_to_async(grants)(*access):
            try:
                await within(shared.whole(DASHBOARD_NOT_SHARED), CLOSE_TIMEOUT)
            except Exception:
                return 0  # a socket that takes nothing: it is dropped without a close
            return CLOSE_NOT_SHARED
        return None

    async def watch(
        self,
        dashboard_id: int,
        visitor: Visitor,
        share_key: str | None,
        panels: dict[asyncio.Task[None], PanelViewer],
    ) -> None:
        """The dashboard's own messages (dashboards/events.py): on
        `dashboard.changed` every panel asks the rule again, and one whose plot may no longer be
        shown closes (all of them when the dashboard itself may no longer be seen, which then
        closes the socket). No plot is read again, and no other viewer of its plots hears of it.
        Without the channel layer the panels' own reads still ask the rule each time."""
        layer = channel_layer()
        group = dashboard_group(dashboard_id)
        delay = 1.0
        while True:
            channel = ""
            try:
                channel = await within(layer.new_channel("dashboard."), settings.CHANNEL_LAYER_TIMEOUT)
                await within(layer.group_add(group, channel), settings.CHANNEL_LAYER_TIMEOUT)
                # A change made before the socket joined the group (or while the channel layer was
                # away): its panels that read by then ask again.
                await self._check_panels(dashboard_id, visitor, share_key, panels)
                delay = 1.0
                while True:
                    try:
                        message = await within(layer.receive(channel), REJOIN_INTERVAL)
                    except TimeoutError:
                        await within(layer.group_add(group, channel), settings.CHANNEL_LAYER_TIMEOUT)
                        continue
                    if message.get("type") == "dashboard.changed":
                        await self._check_panels(dashboard_id, visitor, share_key, panels)
            except asyncio.CancelledError:
                raise
            except Exception:
                _failures.warning("away", "dashboards' changes are not heard (the channel layer is away); trying again")
            finally:
                if channel:
                    await _leave_group(layer, group, channel)
            # Until the channel layer is back, each panel's own reads still ask the rule.
            await asyncio.sleep(delay)
            delay = min(delay * 2, REJOIN_INTERVAL)

    async def _check_panels(
        self,
        dashboard_id: int,
        visitor: Visitor,
        share_key: str | None,
        panels: dict[asyncio.Task[None], PanelViewer],
    ) -> None:
        shown = await database_sync_to_async(shown_plots)(dashboard_id, visitor, share_key)
        for panel in list(panels.values()):
            if shown is None or panel.plot_id not in shown:
                panel.close_not_shared()

    async def read_loop(self, receive: ASGIReceiveCallable, panels: dict[asyncio.Task[None], PanelViewer]) -> None:
        """What the client sends: `{"type": "resync", "plot_id": N}` asks for that plot's snapshot."""
        async for content in client_messages(receive):
            if content.get("type") == "resync":
                for panel in list(panels.values()):
                    if panel.plot_id == content.get("plot_id"):
                        panel.request_resync()


def _since(text: str | None) -> dict[str, object]:
    """`since`: {"<plot id>": the plot's position as the viewer socket takes it}; {} when absent or not an object."""
    if text is None:
        return {}
    try:
        since = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return since if isinstance(since, dict) else {}


async def _leave_group(layer: ChannelLayer, group: str, channel: str) -> None:
    try:
        await within(layer.group_discard(group, channel), settings.CHANNEL_LAYER_TIMEOUT)
    except Exception:
        log.debug("%s: could not leave the group; the channel layer drops it in time", group)
