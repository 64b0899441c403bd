"""What a plot's card shows on Home and My plots: a sparkline of its data, whether it streams,
the time of its last point (not of its creation), and for the owner what the apps above the core
add (alerts: how many, whether one fires). A page of cards costs the same few queries however
many plots it shows."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from core.models import Plot, Trace, isostring
from core.models.windows import traces_with_windows
from core.owner_summaries import owner_summaries

SPARK_POINTS = 60
SPARK_WIDTH, SPARK_HEIGHT = 120, 32


def _numbers(values: object) -> list[float]:
    if not isinstance(values, list):
        return []
    tail = values[-SPARK_POINTS:]
    return [
        float(v) for v in tail if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    ]


def sparkline(traces: list[Trace]) -> str:
    """The SVG polyline points of the first trace with numbers (its y, else its values or z),
    from the windows as viewers see them now (checkpoint plus the rows after it)."""
    for trace in traces:
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


def _card(traces: list[Trace]) -> dict[str, Any]:
    tokens = {t.stream_token for t in traces if t.stream_token is not None}
    writes = [t.last_write_at for t in tokens if t.last_write_at]
    return {
        "streams": len(tokens),
        "streaming": sum(1 for t in tokens if t.is_connected),
        "last_point_at": max(writes) if writes else None,
        "spark": sparkline(traces),
    }


def cards(plots: Sequence[Plot], user: Any) -> list[dict[str, Any]]:
    """Each plot's card, as the page renders it and as cards.json refreshes it: the windows of
    every trace read together, and what the registered apps say of `user`'s own plots (another
    user's plots get nothing of theirs)."""
    by_plot: dict[int, list[Trace]] = defaultdict(list)
    traces = Trace.objects.filter(plot__in=[p.pk for p in plots]).select_related("stream_token").order_by("index")
    for trace in traces_with_windows(traces):
        by_plot[trace.plot_id].append(trace)
    own = [p.pk for p in plots if user.is_authenticated and p.owner_id == user.pk]
    extras = owner_summaries(user, own) if own else {}
    return [{"plot": p, **_card(by_plot[p.pk]), **extras.get(p.pk, {})} for p in plots]


def cards_json(plots: Sequence[Plot], user: Any) -> dict[str, dict]:
    return {
        str(entry.pop("plot").pk): {**entry, "last_point_at": isostring(entry["last_point_at"])}
        for entry in cards(plots, user)
    }
