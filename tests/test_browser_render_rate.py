"""A 10,000-point window updated 20 times a second: the page keeps up and holds only the window.

The short form of bench/viewer_render.py. It asserts what must hold on any machine (the window
is exact, plotly.js gets at most one call per frame, the heap does not grow with the updates);
the frame rate is measured and kept as an artifact, never asserted: speed claims live in bench/.
"""

from __future__ import annotations

import json
import time

import pytest

from harness.render import FRAME_COUNTER, Producer, fill_window, sample

pytestmark = pytest.mark.browser

WINDOW = 10_000
RATE = 20.0


def test_a_full_window_updated_20_times_a_second_stays_exact_and_flat(server, producer, page, artifacts):
    token = producer.make_token()
    figure = {
        "data": [
            {"type": "scatter", "mode": "lines", "x": [], "y": [], "stream": {"token": token, "maxpoints": WINDOW}}
        ]
    }
    plot = producer.ok("POST", "/api/plots/", {"title": "render rate", "figure": figure})
    fill_window(server.port, token, WINDOW)
    page.add_init_script(FRAME_COUNTER)
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => document.getElementById('plot').data?.[0]?.x?.length === {WINDOW}")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    started, last = time.monotonic(), {}
    samples = [sample(page, cdp, started, None, last)]

    writer = Producer(server.port, token, WINDOW, RATE)
    writer.start()
    for _ in range(3):
        page.wait_for_timeout(2000)  # a measuring period, not a wait for a condition
        samples.append(sample(page, cdp, started, writer, last))
    writer.stop()
    newest = writer.x - 1
    page.wait_for_function(f"() => document.getElementById('plot').data[0].x.at(-1) === {newest}")

    held = page.evaluate("() => document.getElementById('plot').data[0].x")
    assert held == list(range(newest - WINDOW + 1, newest + 1))
    stats = page.evaluate("() => window.plotserverViewer.stats")
    assert stats["maxCallsPerFrame"] == 1
    assert stats["react"] == 1 and stats["update"] == 0
    assert stats["frames"] <= stats["updates"] + 1  # never more draws than updates
    assert samples[-1].heap_mb - samples[0].heap_mb < 16, [s.heap_mb for s in samples]
    (artifacts / "render-rate.json").write_text(json.dumps([s.__dict__ for s in samples], indent=1))
