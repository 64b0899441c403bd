"""Measuring the live page: a frame counter injected before the page's scripts, a producer that
writes points on an absolute schedule, and one sample of frames and Chromium's metrics.

Used by bench/viewer_render.py (the benchmark) and tests/test_browser_render_rate.py (its short form).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from harness.producer import RawStream, send_lines

# Counts animation frames and keeps their intervals, from before the page's own scripts run.
FRAME_COUNTER = """
window.__frames = {count: 0, intervals: [], last: 0};
(function tick(now) {
  const f = window.__frames;
  if (f.last) f.intervals.push(now - f.last);
  f.last = now;
  f.count += 1;
  requestAnimationFrame(tick);
})(0);
"""


@dataclass
class Sample:
    seconds: float
    fps: float
    p95_frame_ms: float
    worst_frame_ms: float
    heap_mb: float
    dom_nodes: int
    busy_percent: float
    script_percent: float
    points_held: int
    lag_points: int


class Producer(threading.Thread):
    """One open stream writing a point every 1/rate seconds, on an absolute schedule."""

    def __init__(self, port: int, token: str, start_x: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.stream = RawStream(port, token).open()
        self.x = start_x
        self.rate = rate
        self.stopping = threading.Event()

    def run(self) -> None:
        began = time.monotonic()
        sent = 0
        while not self.stopping.is_set():
            self.stream.write(b'{"x": %d, "y": %f}\n' % (self.x, (self.x % 200) / 10))
            self.x += 1
            sent += 1
            delay = began + sent / self.rate - time.monotonic()
            if delay > 0:
                self.stopping.wait(delay)

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.stream.end()


def fill_window(port: int, token: str, count: int) -> None:
    body = [b'{"x": %d, "y": %f}\n' % (x, (x % 200) / 10) for x in range(count)]
    assert send_lines(port, token, body, timeout=120).status == 200


def sample(page, cdp, started: float, producer: Producer | None, last: dict) -> Sample:
    """Read and reset the page's frame counter; read Chromium's metrics after a forced GC.

    busy_percent and script_percent are the share of wall time the renderer's main thread spent
    in tasks and in JavaScript since the last sample (Performance.getMetrics TaskDuration and
    ScriptDuration)."""
    frames = page.evaluate(
        "() => { const f = window.__frames; const out = {count: f.count, intervals: f.intervals};"
        " f.count = 0; f.intervals = []; return out; }"
    )
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    held = page.evaluate("() => { const x = document.getElementById('plot').data[0].x; return [x.length, x.at(-1)]; }")
    newest_x = producer.x if producer else held[1] + 1
    now = time.monotonic()
    wall = now - last.get("at", now) or 1.0
    busy = (metrics["TaskDuration"] - last.get("task", metrics["TaskDuration"])) / wall
    script = (metrics["ScriptDuration"] - last.get("script", metrics["ScriptDuration"])) / wall
    last.update(at=now, task=metrics["TaskDuration"], script=metrics["ScriptDuration"])
    intervals = sorted(frames["intervals"]) or [0.0]
    period = sum(frames["intervals"]) / 1000 or 1.0
    return Sample(
        seconds=round(time.monotonic() - started, 1),
        fps=round(frames["count"] / period, 1),
        p95_frame_ms=round(intervals[int(len(intervals) * 0.95) - 1 if len(intervals) > 1 else 0], 1),
        worst_frame_ms=round(intervals[-1], 1),
        heap_mb=round(metrics["JSHeapUsedSize"] / 2**20, 2),
        dom_nodes=int(metrics["Nodes"]),
        busy_percent=round(100 * busy, 1),
        script_percent=round(100 * script, 1),
        points_held=held[0],
        lag_points=newest_x - held[1] - 1,
    )
