"""Many viewers of one plot on a real server: each gets every update, once, in order."""

from __future__ import annotations

import asyncio
import json
import threading

from websockets.asyncio.client import connect

from harness.producer import RawStream

VIEWERS = 200
LINES = 300


async def watch(url: str, opened: asyncio.Event, counter: list[int]) -> tuple[int, int, int]:
    """Watch until the last line: (the seq it holds, updates that did not follow, snapshots)."""
    held, gaps, snapshots = -1, 0, 0
    async with connect(url, max_size=None, open_timeout=60) as socket:
        while held < LINES:
            message = json.loads(await asyncio.wait_for(socket.recv(), 120))
            if message["type"] == "snapshot":
                snapshots += 1
                held = next(iter(message["streams"].values()))["seq"]
                if snapshots == 1:
                    counter[0] += 1
                    if counter[0] == VIEWERS:
                        opened.set()
                continue
            for update in message["updates"]:
                gaps += update["seq"] != held + 1
                held = update["seq"]
    return held, gaps, snapshots


def produce(port: int, token: str) -> dict:
    stream = RawStream(port, token).open()
    for i in range(LINES):
        stream.write({"x": i, "y": i % 7})
    return stream.end().json


def test_two_hundred_viewers_of_one_plot_each_get_every_update_once_in_order(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=50)
    url = f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/"
    answers: list[dict] = []

    async def main() -> list[tuple[int, int, int]]:
        opened, counter = asyncio.Event(), [0]
        viewers = [asyncio.create_task(watch(url, opened, counter)) for _ in range(VIEWERS)]
        await asyncio.wait_for(opened.wait(), 120)
        # The producer runs beside the viewers, which keep reading meanwhile.
        writer = threading.Thread(target=lambda: answers.append(produce(server.port, token)))
        writer.start()
        results = await asyncio.gather(*viewers)
        await asyncio.to_thread(writer.join)
        return results

    # A loop of its own on a thread of its own: the browser tests' sync API keeps one running here.
    outcome: list = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(main())))
    runner.start()
    runner.join(timeout=280)
    assert outcome, "the viewers did not finish"
    results = outcome[0]
    assert answers[0]["accepted"] == LINES
    # A resync snapshot on a busy machine is allowed; a hole or a duplicate never is.
    assert [(held, gaps) for held, gaps, _ in results] == [(LINES, 0)] * VIEWERS
