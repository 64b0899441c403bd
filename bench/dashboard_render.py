"""Is a wall of live plots smooth? Frames a second and JS heap of a dashboard of 16 panels, each
a 1,000-point window updated 20 times a second, beside one plot alone under the same load.

    python -m bench.dashboard_render                  (60 s per run; --seconds to change)
    python -m bench.dashboard_render --panels 4 --seconds 20

A real server (uvicorn subprocess) and Debian's headless Chromium through Playwright. Each plot's
window is filled first; then one producer per plot writes a point every 1/20 s on an open stream
(every update appends a point and drops the oldest). The page counts its animation frames
(requestAnimationFrame) in 1-second bins: the median bin and the worst are reported. Chromium's
JSHeapUsedSize (after a forced garbage collection) is read every 10 s. The same measure runs
on one plot's own page, the baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness.chromium import CHROMIUM_ARGS
from harness.live_server import IntegrationDatabase, LiveServer, new_user
from harness.render import Producer, fill_window

# Every animation frame's timestamp, from before the page's own scripts run: bins are cut from them.
FRAME_TIMES = "window.__times = []; (function tick(now) { window.__times.push(now); requestAnimationFrame(tick); })(0);"
# The page's draw loop (web/static/plots/frames.js) counts its draws.
LOOP_STATS = "() => { const {draws, idle, deferred} = window.plotserverFrames.stats; return {draws, idle, deferred}; }"


def make_plots(server: LiveServer, owner, count: int, window: int) -> list[tuple[dict, str]]:
    plots = []
    for n in range(count):
        token = owner.make_token(f"bench {n}")
        trace = {"type": "scatter", "mode": "lines", "x": [], "y": [], "stream": {"token": token, "maxpoints": window}}
        plot = owner.ok("POST", "/api/plots/", {"title": f"panel {n}", "figure": {"data": [trace]}})
        fill_window(server.port, token, window)
        plots.append((plot, token))
    return plots


def measure(
    browser, server: LiveServer, url: str, ready: str, tokens: list[str], window: int, rate: float, seconds: float
) -> dict:
    """Open `url`, wait for `ready`, run one producer per token, and measure frames and heap."""
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    page.add_init_script(FRAME_TIMES)
    page.goto(url)
    page.wait_for_function(ready, timeout=120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def heap() -> float:
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return round(metrics["JSHeapUsedSize"] / 2**20, 2)

    producers = [Producer(server.port, token, window, rate) for token in tokens]
    heaps = [heap()]
    start = page.evaluate("() => { window.__times = []; return performance.now(); }")
    loop_before = page.evaluate(LOOP_STATS)
    for producer in producers:
        producer.start()
    began = time.monotonic()
    try:
        while time.monotonic() < began + seconds:
            time.sleep(min(10.0, began + seconds - time.monotonic()))
            heaps.append(heap())
    finally:
        for producer in producers:
            producer.stop()
    times = page.evaluate("() => window.__times")
    loop = {key: value - loop_before[key] for key, value in page.evaluate(LOOP_STATS).items()}
    context.close()
    bins = [0] * max(1, int(seconds))
    for t in times:
        second = int((t - start) / 1000)
        if 0 <= second < len(bins):
            bins[second] += 1
    return {
        "median_fps": statistics.median(bins),
        "worst_second_fps": min(bins),
        "heap_mb": heaps,
        "heap_growth_mb": round(heaps[-1] - heaps[0], 2),
        # How often each plot was drawn (its viewer gave plotly.js its merged points), and the
        # frames the draw loop left idle to pay back a draw that ran past its budget.
        "draws_per_plot_s": round(loop["draws"] / len(tokens) / seconds, 1),
        "idle_frames": loop["idle"],
        "deferred": loop["deferred"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=16)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second, per plot")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        database = IntegrationDatabase(Path(tmp))
        server = LiveServer(database.env, Path(tmp)).start()
        try:
            owner = new_user(database.env, server.url)
            plots = make_plots(server, owner, args.panels, args.window)
            panels = [{"plot": plot["id"], "w": 3, "h": 3} for plot, _ in plots]
            dashboard = owner.ok("POST", "/api/dashboards/", {"title": "bench", "sharing": "public", "panels": panels})
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
                print(
                    f"Chromium {browser.version}; {args.panels} panels of {args.window} points, "
                    f"{args.rate:g} updates/s each, {args.seconds:g} s a run"
                )
                drawn = (
                    "() => [...document.querySelectorAll('.dashboard-plot')]"
                    f".every(e => e.data?.[0]?.x?.length === {args.window})"
                )
                wall = measure(
                    browser,
                    server,
                    dashboard["web_url"],
                    drawn,
                    [t for _, t in plots],
                    args.window,
                    args.rate,
                    args.seconds,
                )
                print(f"dashboard: {json.dumps(wall)}")
                plot, token = make_plots(server, owner, 1, args.window)[0]
                alone_ready = f"() => document.getElementById('plot').data?.[0]?.x?.length === {args.window}"
                alone = measure(
                    browser, server, plot["web_url"], alone_ready, [token], args.window, args.rate, args.seconds
                )
                print(f"one plot:  {json.dumps(alone)}")
                browser.close()
        finally:
            server.stop()
            database.drop()
    if args.json:
        args.json.write_text(json.dumps({"dashboard": wall, "one_plot": alone}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
