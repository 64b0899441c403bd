"""One user streaming as hard as they can cannot hold up another user's stream: a token past
STREAM_TOKEN_RATE is read more slowly (backpressure), and a light stream beside it reaches its
viewer within a few seconds.

The bound, 5 s, is generous on purpose (a loaded 2-core machine); without the rate a heavy
token of 300 traces put a light stream 16 s behind and growing. The delay is measured as an
outcome: the time a light point was written (carried in its x) to the time a viewer got it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from websockets.sync.client import connect

from harness.live_server import new_user, wait_for
from harness.producer import RawStream

TRACES = 100  # the default QUOTA_TRACES_PER_TOKEN
SECONDS = 12
BOUND = 5.0


def token_rate_hits(server) -> float:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('plotserver_limit_hits_total{limit="token_rate"}'):
                return float(line.split()[-1])
    return 0.0


@pytest.mark.long
def test_a_heavy_token_cannot_delay_another_users_stream(start_server):
    server = start_server(name="fair-sharing")
    heavy, light = new_user(server.env, server.url), new_user(server.env, server.url)
    heavy_token = heavy.make_token()
    heavy.make_plot([heavy_token] * TRACES, maxpoints=50)
    light_token = light.make_token()
    light_plot = light.make_plot([light_token], maxpoints=1000)

    delays: list[float] = []
    viewer = connect(f"ws://127.0.0.1:{server.port}/ws/plots/{light_plot['id']}/", open_timeout=10)

    def watch() -> None:
        try:
            for text in viewer:
                for update in json.loads(text).get("updates", ()):
                    for x in update["traces"]["0"]["extend"]["x"]:
                        delays.append(time.time() - x)
        except Exception:
            pass

    threading.Thread(target=watch, daemon=True).start()
    stop = threading.Event()
    heavy_stream = RawStream(server.port, heavy_token).open()
    heavy_stream.sock.settimeout(60)
    batch = b"".join(b'{"x": %d, "y": %d}\n' % (i, i) for i in range(200))

    def flood() -> None:
        try:
            while not stop.is_set():
                heavy_stream.write(batch)
        except OSError:
            pass  # closed by the test

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()

    light_stream = RawStream(server.port, light_token).open()
    sent = 0
    ends = time.monotonic() + SECONDS
    while time.monotonic() < ends:
        light_stream.write({"x": time.time(), "y": sent})
        sent += 1
        time.sleep(0.2)
    wait_for(lambda: len(delays) >= sent, timeout=30, message="every light point at the viewer")
    light_answer = light_stream.end()
    # The heavy producer still has megabytes in its socket, which the server reads at the
    # token's rate: it is cut off rather than waited for.
    stop.set()
    heavy_stream.close()
    flooder.join(60)
    viewer.close()

    assert (light_answer.status, light_answer.json["accepted"]) == (200, sent)
    assert token_rate_hits(server) >= 1
    assert wait_for(lambda: heavy.stream_status(heavy_token)["accepted"] > 0)  # slowed, never refused
    assert max(delays) < BOUND, f"light points arrived up to {max(delays):.1f}s late (bound {BOUND}s)"
