"""The MQTT subscriber's run loop ends when it is cancelled, at whatever step it is.

A process that does not hold the lease waits, under a timeout, for a change of the lease or of
the tokens, and looks again. A timeout that lost a cancellation arriving just as that wait
ended (Python 3.11's `asyncio.wait_for` does) left the loop running after the process asked it
to stop. Here a change comes at every turn of the event loop, so that the wait ends at once,
and the cancellation is tried at every step of the first few hundred. No broker is needed: a
process without the lease never connects.
"""

from __future__ import annotations

import asyncio

import pytest

from mqtt.subscriber import MqttSubscriber

STEPS = 300


async def change_at_every_turn(subscriber: MqttSubscriber) -> None:
    while True:
        subscriber.changed.set()
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_cancelling_the_subscriber_ends_its_run_loop_at_any_step_of_its_waits():
    subscriber = MqttSubscriber()
    changes = asyncio.create_task(change_at_every_turn(subscriber))
    try:
        for step in range(STEPS):
            running_loop = asyncio.create_task(subscriber.run())
            for _ in range(step):
                await asyncio.sleep(0)
            running_loop.cancel()
            _, running = await asyncio.wait([running_loop], timeout=10)
            assert not running, f"cancelled {step} steps after the start, the run loop went on"
    finally:
        changes.cancel()
        subscriber._lease_thread.shutdown()
