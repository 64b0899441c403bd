"""What a server did over a run beside its CPU time: counts that locate a cost on a loaded machine.

CPU time per point moves by tens of percent with the machine's load; these do not, or much less:
the kernel's share of the CPU time (user and system apart), the CPU time to the nanosecond
(/proc/<pid>/task/*/schedstat, not the 10 ms ticks of /proc/<pid>/stat), the context switches,
and the server's own counts at /metrics (commits, publishes to the channel layer, the times
the readers were held back by a full backlog, streams ended). Two forms of the same load that
differ in these do different work, whatever their per-line code costs.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from bench.common import CLOCK_TICKS, process_tree

# The series of /metrics counted, by the name the figures give them.
METRICS = {
    "commits": "plotserver_batch_lines_count",
    "publishes": "plotserver_publish_seconds_count",
    "backpressure": 'plotserver_limit_hits_total{limit="backpressure"}',
    "streams_ended": "plotserver_streams_ended_total",
}
# How long /metrics may take to answer (a server still busy with the run before answers late).
METRICS_TIMEOUT = 60.0
SWITCHES = re.compile(r"^(voluntary|nonvoluntary)_ctxt_switches:\s+(\d+)$", re.MULTILINE)


def snapshot(pid: int, port: int) -> dict[str, float]:
    """The counts so far of the server `pid` (and its children) listening on `port`; times in µs
    (`cpu_us` from schedstat, of the threads alive now; `user_us` and `system_us` in ticks)."""
    counts = dict.fromkeys(("cpu_us", "user_us", "system_us", "voluntary_switches", "involuntary_switches"), 0.0)
    for process in process_tree(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
            counts["user_us"] += int(fields[11]) / CLOCK_TICKS * 1e6
            counts["system_us"] += int(fields[12]) / CLOCK_TICKS * 1e6
            for task in Path(f"/proc/{process}/task").iterdir():
                counts["cpu_us"] += int((task / "schedstat").read_text().split()[0]) / 1000
                for kind, number in SWITCHES.findall((task / "status").read_text()):
                    counts[f"{'voluntary' if kind == 'voluntary' else 'involuntary'}_switches"] += int(number)
        except OSError:  # a thread or process that ended meanwhile
            continue
    return counts | scrape(port)


def scrape(port: int) -> dict[str, float]:
    """The METRICS of the server's /metrics (answered to 127.0.0.1), labels summed unless named."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=METRICS_TIMEOUT) as answer:
        text = answer.read().decode()
    counts = dict.fromkeys(METRICS, 0.0)
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        series, _, value = line.rpartition(" ")
        name = series.partition("{")[0]
        for key, wanted in METRICS.items():
            if series == wanted or ("{" not in wanted and name == wanted):
                counts[key] += float(value)
    return counts
