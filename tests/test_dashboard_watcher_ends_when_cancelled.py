"""A dashboard socket's watcher loop ends when it is cancelled, at whatever step it is.

Each dashboard socket runs one watcher of the dashboard's group; it receives from the channel
layer under a timeout, for as long as the socket is open. A timeout that lost a cancellation
arriving just as the receive ended (Python 3.11's `asyncio.wait_for` does) left the watcher
running after its socket closed: one leaked task per socket. Here every receive answers at
once with a message the watcher passes over, and the cancellation is tried at every step of
the first few hundred.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from dashboards import socket as socket_module
from dashboards.socket import DashboardSocket
from tests.loopback_layer import LoopbackLayer

STEPS = 300


class ChatteringLayer(LoopbackLayer):
    """Every receive answers after one turn of the event loop, with a message of no concern."""

    async def receive(self, channel: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"type": "chatter"}


@pytest.mark.asyncio
async def test_cancelling_a_dashboards_watcher_ends_it_at_any_step_of_its_receives(monkeypatch):
    monkeypatch.setattr(socket_module, "channel_layer", ChatteringLayer)
    monkeypatch.setattr(socket_module, "shown_plots", lambda *_: None)  # no database: no panel to close
    for step in range(STEPS):
        watcher = asyncio.create_task(DashboardSocket().watch(1, AnonymousUser(), None, {}))
        for _ in range(step):
            await asyncio.sleep(0)
        watcher.cancel()
        _, running = await asyncio.wait([watcher], timeout=10)
        assert not running, f"cancelled {step} steps after the start, the watcher went on"
