"""The relay's tasks end when they are cancelled, at whatever step they are.

The relay's probe loop calls the channel layer twice a second under a timeout. A timeout that
lost a cancellation arriving just as the call it timed ended (Python 3.11's `asyncio.wait_for`
does) left the loop running for ever: a process could not stop it, and a test's event loop
never closed (the suite hung 300 s in teardown). The layer here answers at once, so that the
loop passes through its timeouts as fast as it can, and the cancellation is tried at every
step of the first few hundred.
"""

from __future__ import annotations

import asyncio

import pytest

from streaming import relay as relay_module
from streaming.relay import PlotRelay
from tests.loopback_layer import LoopbackLayer

STEPS = 300


@pytest.mark.asyncio
async def test_cancelling_the_relay_ends_its_tasks_at_any_step_of_its_probes(monkeypatch):
    monkeypatch.setattr(relay_module, "PROBE_INTERVAL", 0)
    for step in range(STEPS):
        relay = PlotRelay()
        relay.layer = LoopbackLayer()
        await relay.start()
        for _ in range(step):
            await asyncio.sleep(0)
        tasks = list(relay._tasks)
        for task in tasks:
            task.cancel()
        _, running = await asyncio.wait(tasks, timeout=10)
        assert not running, f"cancelled {step} steps after the start, {[t.get_name() for t in running]} went on"
