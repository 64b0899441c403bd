"""What /metrics exposes: every worker's metrics (base/metrics.py), plus what the database knows."""

from __future__ import annotations

import atexit
import os

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily

from base.metrics import MULTIPROCESS_DIR
from core.models import StreamToken


class InstallationCollector:
    """What the database knows of the whole installation (every machine), read at scrape time."""

    CONNECTED = ("plotserver_stream_tokens_connected", "Stream tokens with a producer connected, on all machines.")

    def describe(self):
        # Lets a registry learn the names without a query (at import, before the database is there).
        yield GaugeMetricFamily(*self.CONNECTED)

    def collect(self):
        connected = GaugeMetricFamily(*self.CONNECTED)
        connected.add_metric([], StreamToken.objects.filter(StreamToken.live()).count())
        yield connected


INSTALLATION = InstallationCollector()


def registry() -> CollectorRegistry:
    """The registry to expose: every worker of this machine, plus the installation-wide gauges."""
    if not MULTIPROCESS_DIR:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    collected.register(INSTALLATION)
    return collected


if MULTIPROCESS_DIR:
    # A worker that exits leaves its files; its live gauges must stop counting.
    atexit.register(multiprocess.mark_process_dead, os.getpid())
else:
    REGISTRY.register(INSTALLATION)
