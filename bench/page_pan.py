"""Panning a week of history on the plot page: frames a second, range reads, JS heap (row (j)).

    python -m bench.page_pan                     604,800 points (a week at 1/s), 10 s of panning
    python -m bench.page_pan --quick             20,000 points, 3 s of panning: checks that it runs
    python -m bench.page_pan --json out.json     the figures as JSON too

A real server (PostgreSQL with DATABASE_URL) and Debian's headless Chromium through
Playwright, with the flags of the tests (harness/chromium.py: no GPU). One plot keeps
everything (`retention: forever`), one trace of lines with a 500-point window; a week of points
at one a second, x as date strings, is backfilled through the stream port and folded into
history blocks as in row (i). The page opens in live view; the x axis is set to the whole week
(`Plotly.relayout`, as a zoom does), and the bench waits until the page has read and drawn it.
The toolbar's Pan button is clicked, and the mouse pans as a person does: press, move across
40% of the plot in a second (60 moves a second), release, a quarter of a second's rest, and
back the other way, for `--seconds`. Each release is a zoom of the page's own
(plotly_relayout), so it reads the range in view (history.js debounces it by 150 ms).

Measured during the pan: every animation frame the page drew (a requestAnimationFrame counter
injected before the page's scripts), as frames a second in 1-second bins (median) and the worst
sliding 1-second window; the longest frame and the long tasks (PerformanceObserver); the range
reads (started, completed with their latency from request to last byte, abandoned); where the
renderer's main thread spent its time (DevTools protocol Performance.getMetrics deltas: script,
layout, style, the rest being mostly paint and composite). Then the JS heap (JSHeapUsedSize
after HeapProfiler.collectGarbage) after the measured pan and again after `--pans` more pans.
The machine's load average is reported beside: on a shared machine the page gets what is left.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from bench.common import Environment, Row, print_table, say, stop
from bench.history_reads import START, WEEK, backfill, wait_folded
from harness.chromium import CHROMIUM_ARGS
from harness.live_server import LiveServer

WINDOW = 500
TARGET_FPS = 60
MOVES_PER_SECOND = 60
STROKE_SECONDS = 1.0
STROKE_SHARE = 0.4  # of the plot's width, a stroke
REST_SECONDS = 0.25  # between strokes: longer than the page's read debounce (150 ms)
PLOT = "document.getElementById('plot')"
FULL = {"points": WEEK, "seconds": 10.0, "pans": 10}
QUICK = {"points": 20_000, "seconds": 3.0, "pans": 3}

# Frames and long tasks, from before the page's own scripts: timestamps of every animation
# frame while `recording`, every long task the observer reports (filtered by time afterwards).
PROBE = """
window.__pan = {recording: false, frames: [], longTasks: []};
(function tick(now) {
  if (window.__pan.recording) window.__pan.frames.push(now);
  requestAnimationFrame(tick);
})(0);
try {
  new PerformanceObserver(function (list) {
    for (const entry of list.getEntries()) window.__pan.longTasks.push([entry.startTime, entry.duration]);
  }).observe({type: "longtask"});
} catch (error) {}
"""

START_RECORDING = (
    "() => { const p = window.__pan; p.frames = []; p.longTasks = []; p.recording = true; return performance.now(); }"
)
STOP_RECORDING = (
    "() => { const p = window.__pan; p.recording = false;"
    " const out = {frames: p.frames, longTasks: p.longTasks, now: performance.now()};"
    " p.frames = []; p.longTasks = []; return out; }"
)

# The page's final read of a pan has been drawn (or has failed): history.js says "reading …"
# in the bar when it asks, and "history …" once it has drawn the latest range.
READ_SETTLED = (
    "(asked) => window.plotserverHistory.stats.requests > asked"
    " && /^(history |could not)/.test(document.getElementById('history-note').textContent)"
)

# The width of the x range in view (ms for dates): a pan keeps it, a zoom does not.
SPAN = f"() => {{ const a = {PLOT}._fullLayout.xaxis; return a.r2l(a.range[1]) - a.r2l(a.range[0]); }}"

MAIN_THREAD = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def date(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def frame_rates(stamps: list[float], start: float, end: float) -> dict:
    """Frames a second over [start, end] (ms): the median of whole 1-second bins, the worst
    sliding 1-second window, and the longest gap between frames."""
    bins = [0] * int((end - start) // 1000)
    for t in stamps:
        slot = int((t - start) // 1000)
        if 0 <= slot < len(bins):
            bins[slot] += 1
    worst, last = None, 0
    for first, t in enumerate(stamps):
        if t + 1000 > end:
            break
        while last < len(stamps) and stamps[last] < t + 1000:
            last += 1
        worst = last - first if worst is None else min(worst, last - first)
    gaps = [b - a for a, b in pairwise(stamps)]
    return {
        "frames": len(stamps),
        "seconds": round((end - start) / 1000, 2),
        "median_fps": statistics.median(bins) if bins else None,
        "worst_1s_fps": worst,
        "bins_fps": bins,
        "longest_frame_ms": round(max(gaps), 1) if gaps else None,
    }


def metrics(cdp) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def main_thread(before: dict, after: dict, wall: float) -> dict:
    """Percent of wall time the renderer's main thread spent, by kind, between two readings."""
    spent = {name: after[name] - before[name] for name in MAIN_THREAD}
    return {
        "busy_percent": round(100 * spent["TaskDuration"] / wall, 1),
        "script_percent": round(100 * spent["ScriptDuration"] / wall, 1),
        "layout_percent": round(100 * spent["LayoutDuration"] / wall, 1),
        "style_percent": round(100 * spent["RecalcStyleDuration"] / wall, 1),
        "other_percent": round(
            100
            * (spent["TaskDuration"] - spent["ScriptDuration"] - spent["LayoutDuration"] - spent["RecalcStyleDuration"])
            / wall,
            1,
        ),
    }


def heap_mb(cdp) -> float:
    """The JS heap in use after a forced garbage collection: what the page holds."""
    cdp.send("HeapProfiler.collectGarbage")
    return round(metrics(cdp)["JSHeapUsedSize"] / 2**20, 2)


class Reads:
    """The page's range reads, as Chromium saw them: started, completed (with the time from
    request to last byte), failed (abandoned by a newer read, or an error)."""

    def __init__(self, page) -> None:
        self.started = 0
        self.latencies_ms: list[float] = []
        self.failed = 0
        page.on("request", self.on_request)
        page.on("requestfinished", self.on_finished)
        page.on("requestfailed", self.on_failed)

    def on_request(self, request) -> None:
        if "/points/" in request.url:
            self.started += 1

    def on_finished(self, request) -> None:
        if "/points/" in request.url and request.timing["responseEnd"] >= 0:
            self.latencies_ms.append(request.timing["responseEnd"])

    def on_failed(self, request) -> None:
        if "/points/" in request.url:
            self.failed += 1

    def mark(self) -> tuple[int, int, int]:
        return self.started, len(self.latencies_ms), self.failed

    def since(self, mark: tuple[int, int, int]) -> dict:
        latencies = sorted(self.latencies_ms[mark[1] :])
        return {
            "started": self.started - mark[0],
            "completed": len(latencies),
            "abandoned_or_failed": self.failed - mark[2],
            "median_ms": round(statistics.median(latencies), 1) if latencies else None,
            "max_ms": round(latencies[-1], 1) if latencies else None,
        }


def stroke(page, left: float, right: float, middle: float) -> tuple[int, float]:
    """Press at `left`, move to `right` on a 60-a-second schedule over STROKE_SECONDS, release;
    the count of reads the page had asked for before the release, and the stroke's seconds
    (longer than planned when the page or the driver fell behind the schedule)."""
    moves = round(MOVES_PER_SECOND * STROKE_SECONDS)
    page.mouse.move(left, middle)
    page.mouse.down()
    began = time.monotonic()
    for i in range(1, moves + 1):
        page.mouse.move(left + (right - left) * i / moves, middle)
        time.sleep(max(0.0, began + i / MOVES_PER_SECOND - time.monotonic()))  # the schedule
    asked = page.evaluate("() => window.plotserverHistory.stats.requests")
    page.mouse.up()
    return asked, time.monotonic() - began


def pan(page, seconds: float) -> list[float]:
    """Pan back and forth for `seconds`, then wait until the page has drawn the last range;
    the seconds each stroke took."""
    box = page.locator(".nsewdrag").first.bounding_box()
    middle = box["y"] + box["height"] / 2
    a = box["x"] + box["width"] * (0.5 - STROKE_SHARE / 2)
    b = box["x"] + box["width"] * (0.5 + STROKE_SHARE / 2)
    strokes: list[float] = []
    asked = 0
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        asked, took = stroke(page, a, b, middle) if len(strokes) % 2 == 0 else stroke(page, b, a, middle)
        strokes.append(took)
        time.sleep(REST_SECONDS)  # the rest between strokes, part of the gesture
    page.wait_for_function(READ_SETTLED, arg=asked, timeout=120_000)
    return strokes


def open_week(page, url: str, points: int) -> dict:
    """Open the plot page in live view, show the whole week as a zoom does, choose Pan in the
    toolbar; how long the week's read took to be drawn."""
    page.goto(url)
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.length === {min(points, WINDOW)}", timeout=60_000)
    started = time.perf_counter()
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': ['{date(0)}', '{date(points - 1)}']}})")
    page.wait_for_function(READ_SETTLED, arg=0, timeout=120_000)
    drawn_s = time.perf_counter() - started
    page.hover(".nsewdrag")
    page.click(".modebar-btn[data-val='pan']")
    page.wait_for_function(f"() => {PLOT}._fullLayout.dragmode === 'pan'")
    return {"week_drawn_s": round(drawn_s, 2), "points_drawn": page.evaluate(f"() => {PLOT}.data[0].x.length")}


def measured_pan(page, cdp, reads: Reads, seconds: float) -> dict:
    """One pan of `seconds` with its frames, long tasks, reads and main-thread time."""
    mark = reads.mark()
    before, load_before, span = metrics(cdp), os.getloadavg(), page.evaluate(SPAN)
    start = page.evaluate(START_RECORDING)
    strokes = pan(page, seconds)
    recorded = page.evaluate(STOP_RECORDING)
    after = metrics(cdp)
    long_tasks = [d for t, d in recorded["longTasks"] if t >= start]
    return {
        "strokes": len(strokes),
        "stroke_seconds": {"planned": STROKE_SECONDS, "median": round(statistics.median(strokes), 2)},
        "moves_per_second": round(MOVES_PER_SECOND * STROKE_SECONDS / statistics.median(strokes), 1),
        **frame_rates(recorded["frames"], start, recorded["now"]),
        "long_tasks": len(long_tasks),
        "long_task_ms": round(sum(long_tasks), 1),
        "reads": reads.since(mark),
        "main_thread": main_thread(before, after, after["Timestamp"] - before["Timestamp"]),
        "load_average": [load_before, os.getloadavg()],
        "still_pan_mode": page.evaluate(f"() => {PLOT}._fullLayout.dragmode === 'pan'"),
        "range_width_kept": abs(page.evaluate(SPAN) / span - 1) < 0.01,
    }


def make_plot(user) -> dict:
    """A plot of one trace of lines, its stream's window WINDOW points, keeping everything."""
    token = user.make_token("week")
    trace = {"type": "scatter", "mode": "lines", "x": [], "y": [], "stream": {"token": token, "maxpoints": WINDOW}}
    plot = user.ok("POST", "/api/plots/", {"title": "a week", "figure": {"data": [trace]}})
    user.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "forever"})
    return {**plot, "token": token}


def run(env: Environment, points: int, seconds: float, pans: int) -> dict:
    from playwright.sync_api import sync_playwright

    server: LiveServer = env.server("page-pan", HISTORY_PRUNE_INTERVAL="1", HISTORY_FOLD_AGE="0")
    try:
        user = env.user(server)
        plot = make_plot(user)
        say(f"bench.page_pan: backfilling {points:,} points")
        figures: dict = {"points": points, "accepted": backfill(server.port, plot["token"], points, dates=True)}
        figures["fold_wait_s"] = wait_folded(env)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            figures["chromium"] = browser.version
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.add_init_script(PROBE)
            reads = Reads(page)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            say("bench.page_pan: the week in view")
            figures.update(open_week(page, plot["web_url"], points))
            say(f"bench.page_pan: warm-up pan, then {seconds:g} s measured")
            pan(page, min(seconds, 3))
            figures["pan"] = measured_pan(page, cdp, reads, seconds)
            say(f"bench.page_pan: heap across {pans} more pans")
            first = heap_mb(cdp)
            for _ in range(pans):
                pan(page, 2 * (STROKE_SECONDS + REST_SECONDS))
            figures["heap"] = {"after_pan_mb": first, "after_more_pans_mb": heap_mb(cdp), "more_pans": pans}
            figures["heap"]["growth_mb"] = round(figures["heap"]["after_more_pans_mb"] - first, 2)
            figures["page_stats"] = page.evaluate("() => window.plotserverHistory.stats")
            browser.close()
    finally:
        stop(server)
    return figures


def row(figures: dict) -> Row:
    measured = figures["pan"]
    reads = measured["reads"]
    heap = figures["heap"]
    load = measured["load_average"][1][0]
    return Row(
        scenario=f"(j) the page: panning a week of history ({figures['points']:,} points) in Chromium",
        measured=(
            f"{measured['median_fps']} fps median, worst 1 s {measured['worst_1s_fps']} fps"
            f" (longest frame {measured['longest_frame_ms']} ms); {reads['started']} range reads"
            f" for {measured['strokes']} strokes, median {reads['median_ms']} ms;"
            f" heap {heap['after_pan_mb']:.1f} -> {heap['after_more_pans_mb']:.1f} MB after"
            f" {heap['more_pans']} more pans; load average {load:.1f}"
            + ("" if measured["still_pan_mode"] and measured["range_width_kept"] else "; NOT a pan: the tool changed")
        ),
        target=f"{TARGET_FPS} fps pan, heap flat",
        baseline="",
        ratio=f"{(measured['median_fps'] or 0) / TARGET_FPS:.2f}x target fps",
        figures=figures,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.page_pan", description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=FULL["points"])
    parser.add_argument("--seconds", type=float, default=FULL["seconds"], help="length of the measured pan")
    parser.add_argument("--pans", type=int, default=FULL["pans"], help="pans between the two heap readings")
    parser.add_argument("--quick", action="store_true", help="20,000 points, 3 s of panning, 3 more pans")
    parser.add_argument("--json", type=Path, help="write the row here too")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else {"points": args.points, "seconds": args.seconds, "pans": args.pans}
    with Environment() as env:
        result = row(run(env, **sizes))
        print_table([result], f"plotserver page pan ({env.description})")
        print(json.dumps(result.figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"row": result.scenario, **result.figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
