"""Does the live page keep up? Frame rate and JS heap of a 10,000-point window updated 20 times a second.

    python -m bench.viewer_render                 (3 minutes per run; --minutes to change)
    python -m bench.viewer_render --minutes 0.5 --baseline

A real server (uvicorn subprocess) and Debian's headless Chromium through Playwright. The plot's
trace is filled to its window (maxpoints 10,000) first; then a producer writes one point every
1/20 s on an open stream, so every update both appends a point and drops the oldest. Every
sample period the page reports the frames it drew (requestAnimationFrame callbacks), its
slowest frames, and Chromium's JSHeapUsedSize (DevTools protocol, Performance.getMetrics),
read after a forced garbage collection so that the trend is what the page holds, not garbage
not yet collected.

--baseline runs the same load a second time with the viewer told to redraw the whole figure
with Plotly.react every frame (what viewer.js did before extendTraces), for comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.chromium import CHROMIUM_ARGS
from harness.live_server import IntegrationDatabase, LiveServer, new_user
from harness.render import FRAME_COUNTER, Producer, Sample, fill_window, sample


@dataclass
class Run:
    mode: str
    window: int
    rate: float
    samples: list[Sample] = field(default_factory=list)
    viewer_stats: dict = field(default_factory=dict)

    def summary(self) -> dict:
        fps = [s.fps for s in self.samples]
        heap = [s.heap_mb for s in self.samples]
        minutes = (self.samples[-1].seconds - self.samples[0].seconds) / 60 if len(self.samples) > 1 else 0
        return {
            "mode": self.mode,
            "mean_fps": round(statistics.fmean(fps), 1),
            "min_fps": round(min(fps), 1),
            "p95_frame_ms": round(max(s.p95_frame_ms for s in self.samples), 1),
            "heap_first_mb": heap[0],
            "heap_last_mb": heap[-1],
            "heap_max_mb": max(heap),
            "heap_slope_mb_per_min": round((heap[-1] - heap[0]) / minutes, 2) if minutes else 0.0,
            "mean_busy_percent": round(statistics.fmean(s.busy_percent for s in self.samples), 1),
            "mean_script_percent": round(statistics.fmean(s.script_percent for s in self.samples), 1),
            "max_lag_points": max(s.lag_points for s in self.samples),
        }


def run_load(
    browser,
    server: LiveServer,
    owner,
    *,
    window: int,
    rate: float,
    seconds: float,
    every: float,
    full_redraw: bool,
    log=print,
) -> Run:
    """One page watching one plot under the load; a sample every `every` seconds."""
    token = owner.make_token("bench")
    figure = {
        "data": [
            {"type": "scatter", "mode": "lines", "x": [], "y": [], "stream": {"token": token, "maxpoints": window}}
        ]
    }
    plot = owner.ok("POST", "/api/plots/", {"title": "render bench", "figure": figure})
    fill_window(server.port, token, window)

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.add_init_script(FRAME_COUNTER)
    if full_redraw:
        page.add_init_script("window.plotserverViewerOptions = {fullRedraw: true}")
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => document.getElementById('plot').data?.[0]?.x?.length === {window}", timeout=60_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")

    producer = Producer(server.port, token, window, rate)
    run = Run("fullRedraw (Plotly.react per frame)" if full_redraw else "extendTraces", window, rate)
    started = time.monotonic()
    last: dict = {}
    sample(page, cdp, started, None, last)  # resets the frame counter and the durations
    producer.start()
    try:
        next_at = started + every
        while time.monotonic() < started + seconds:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += every
            point = sample(page, cdp, started, producer, last)
            run.samples.append(point)
            log(
                f"  {point.seconds:6.1f}s  {point.fps:5.1f} fps  p95 {point.p95_frame_ms:5.1f} ms  "
                f"worst {point.worst_frame_ms:6.1f} ms  "
                f"busy {point.busy_percent:5.1f}%  js {point.script_percent:5.1f}%  "
                f"heap {point.heap_mb:6.2f} MB  nodes {point.dom_nodes}  "
                f"held {point.points_held}  lag {point.lag_points}"
            )
    finally:
        producer.stop()
    run.viewer_stats = page.evaluate("() => window.plotserverViewer.stats")
    context.close()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--baseline", action="store_true", help="also run with a full Plotly.react per frame")
    parser.add_argument("--json", type=Path, help="write the samples and summaries here")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        database = IntegrationDatabase(Path(tmp))
        server = LiveServer(database.env, Path(tmp)).start()
        try:
            owner = new_user(database.env, server.url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
                print(
                    f"Chromium {browser.version}; window {args.window} points, {args.rate:g} updates/s, "
                    f"{args.minutes:g} min per run, a sample every {args.every:g} s"
                )
                runs = []
                for full_redraw in (False, True) if args.baseline else (False,):
                    print("extendTraces (viewer.js)" if not full_redraw else "baseline: Plotly.react every frame")
                    runs.append(
                        run_load(
                            browser,
                            server,
                            owner,
                            window=args.window,
                            rate=args.rate,
                            seconds=args.minutes * 60,
                            every=args.every,
                            full_redraw=full_redraw,
                        )
                    )
                browser.close()
        finally:
            server.stop()
            database.drop()
    print()
    for run in runs:
        print(json.dumps(run.summary()))
        print(f"  viewer: {json.dumps(run.viewer_stats)}")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "summary": r.summary()} for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
