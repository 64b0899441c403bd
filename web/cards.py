"""What a plot's card shows on Home and My plots: a sparkline of its data, whether it streams,
and the time of its last point (not of its creation)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from core.models import Plot, isostring
from core.models.windows import traces_with_windows

SPARK_POINTS = 60
SPARK_WIDTH, SPARK_HEIGHT = 120, 32


def _numbers(values: object) -> list[float]:
    if not isinstance(values, list):
        return []
    tail = values[-SPARK_POINTS:]
    return [
        float(v) for v in tail if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    ]


def sparkline(plot: Plot) -> str:
    """The SVG polyline points of the first trace with numbers (its y, else its values or z),
    from the windows as viewers see them now (checkpoint plus the rows after it)."""
    for trace in traces_with_windows(plot.traces.all()):
        for name in ("y", "values", "r", "close"):
            numbers = _numbers(trace.spec.get(name))
            if len(numbers) >= 2:
                return _polyline(numbers)
    return ""


def _polyline(numbers: list[float]) -> str:
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    step = SPARK_WIDTH / (len(numbers) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - (n - low) / span * (SPARK_HEIGHT - 4):.1f}" for i, n in enumerate(numbers)
    )


def card(plot: Plot) -> dict:
    """A plot's card, as the page renders it and as cards.json refreshes it."""
    tokens = {t.stream_token for t in plot.traces.all() if t.stream_token is not None}
    writes = [t.last_write_at for t in tokens if t.last_write_at]
    return {
        "streams": len(tokens),
        "streaming": sum(1 for t in tokens if t.is_connected),
        "last_point_at": max(writes) if writes else None,
        "spark": sparkline(plot),
    }


def cards_json(plots: Iterable[Plot]) -> dict[str, dict]:
    result = {}
    for plot in plots:
        entry = card(plot)
        at = entry["last_point_at"]
        result[str(plot.pk)] = {**entry, "last_point_at": isostring(at)}
    return result
