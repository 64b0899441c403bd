"""plotserver's Prometheus metrics: their definitions (operations/exposition.py serves them).

This module only defines them; the code that does the counted work increments them. They cost
a lock and an add (an mmap write in multi-process mode), so the hot path counts per batch, not
per line: `LINES_ACCEPTED.inc(n)` once a batch. Labels take a few fixed values only (a reason,
a limit, a status), never a token, plot or user: the number of series must not grow with use.

Several uvicorn workers: set PROMETHEUS_MULTIPROC_DIR to an empty folder, the same for every
worker of a machine (emptied at each start, see docs/deployment.md), and /metrics of any worker
reports the sum of them all.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# -- streams (the ingest core) -----------------------------------------------------------------

STREAMS_OPEN = Gauge(
    "plotserver_streams_open", "Streams open now, on this machine's processes.", multiprocess_mode="livesum"
)
STREAMS_ENDED = Counter("plotserver_streams_ended", "Streams ended, by the status of their answer.", ["status"])
LINES_ACCEPTED = Counter("plotserver_lines_accepted", "Lines accepted from producers (each one or more points).")
LINES_REJECTED = Counter(
    "plotserver_lines_rejected",
    "Lines rejected, by reason: json, nesting, attribute, value, internal.",
    ["reason"],
)
TAKEOVERS = Counter("plotserver_takeovers", "Streams closed because a newer connection came with their token.")
REVOCATIONS = Counter("plotserver_revocations", "Stream tokens revoked.")
LIMIT_HITS = Counter(
    "plotserver_limit_hits",
    "Limits reached: streams ended at idle_timeout, lines rejected for line_bytes, "
    "commit backlogs full (backpressure), "
    "tokens slowed to their write rate (token_rate), "
    "quota 429s (quota), connections refused (connections, connections_per_client), "
    "history reads refused (history_reads, history_reads_per_client), "
    "image requests refused for a full render pool (image_renders) or given up (image_render_timeout).",
    ["limit"],
)

# -- batches: commit and publish -----------------------------------------------------------------

BATCH_LINES = Histogram(
    "plotserver_batch_lines",
    "Lines per committed batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000),
)
BATCH_COMMIT_SECONDS = Histogram(
    "plotserver_batch_commit_seconds",
    "Time to commit one batch to the database.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PUBLISH_SECONDS = Histogram(
    "plotserver_publish_seconds",
    "Time to publish one batch to the channel layer.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)

# -- viewers ---------------------------------------------------------------------------------

VIEWERS = Gauge(
    "plotserver_viewers", "Viewer sockets open now, on this machine's processes.", multiprocess_mode="livesum"
)
RELAY_QUEUE_DROPS = Counter(
    "plotserver_relay_queue_drops", "Messages not queued for a viewer that fell behind (it is resynced or dropped)."
)

# -- the channel layer (Redis) ------------------------------------------------------------------

CHANNEL_LAYER_AWAY = Gauge(
    "plotserver_channel_layer_away",
    "1 while a process with viewers finds the channel layer away (its relay's probe does not come back).",
    multiprocess_mode="livemax",
)
CHANNEL_LAYER_OUTAGES = Counter(
    "plotserver_channel_layer_outages", "Times a relay found the channel layer away (a Redis outage or failover began)."
)
CHANNEL_LAYER_RECOVERIES = Counter(
    "plotserver_channel_layer_recoveries",
    "Times a relay found the channel layer back, joined its groups again and resynced its viewers.",
)
PUBLISH_FAILURES = Counter(
    "plotserver_publish_failures",
    "Passes of the publisher cut short by a failed publish (the channel layer was away); "
    "viewers get those updates from the database.",
)

# -- static images (images/) -----------------------------------------------------------------------

IMAGE_RENDERS = Gauge(
    "plotserver_image_renders",
    "Image requests holding a place in the render pool now (drawing, or waiting for a page).",
    multiprocess_mode="livesum",
)
IMAGE_RENDER_SECONDS = Histogram(
    "plotserver_image_render_seconds",
    "Time to draw one image, its wait for a page included.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60),
)
# -- alerts --------------------------------------------------------------------------------------

ALERTS_FIRING = Gauge(
    "plotserver_alerts_firing",
    "Alerts firing now (every process reads the same count from the database).",
    multiprocess_mode="livemax",
)
