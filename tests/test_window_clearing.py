"""Clearing a trace's window (the admin's action) empties every per-point attribute it holds,
whatever the trace type, and keeps its styles."""

import pytest

from core.models import Plot, Trace
from core.protocol import PER_POINT_ATTRIBUTES
from core.window import clear_window, get_path
from web.admin_windows import clear_windows, current_window

pytestmark = pytest.mark.django_db


def test_clearing_a_candlestick_empties_open_high_low_and_close_alike(alice):
    plot = Plot.objects.create(owner=alice, title="prices")
    spec = {
        "type": "candlestick",
        "x": ["2026-11-27", "2026-11-28"],
        "open": [10, 11],
        "high": [12, 13],
        "low": [9, 10],
        "close": [11, 12],
        "increasing": {"line": {"color": "green"}},
    }
    trace = Trace.objects.create(plot=plot, index=0, spec=spec)

    assert clear_windows([trace]) == {plot.pk}

    window = current_window(trace)
    assert {key: window[key] for key in ("x", "open", "high", "low", "close")} == {
        "x": [],
        "open": [],
        "high": [],
        "low": [],
        "close": [],
    }
    assert window["increasing"] == {"line": {"color": "green"}}


def test_clearing_empties_every_per_point_attribute_and_drops_per_point_styles():
    spec = {"type": "scatter", "mode": "markers", "line": {"color": "red"}}
    for path in PER_POINT_ATTRIBUTES:
        *parents, last = path.split(".")
        node = spec
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = [1, 2]

    clear_window(spec)

    for path in PER_POINT_ATTRIBUTES:
        assert get_path(spec, path) == ([] if "." not in path else None), path
    assert (spec["mode"], spec["line"]) == ("markers", {"color": "red"})


def test_clearing_bumps_the_plot_revision_so_returning_viewers_resync(alice):
    plot = Plot.objects.create(owner=alice)
    trace = Trace.objects.create(plot=plot, index=0, spec={"x": [1], "y": [2]})

    clear_windows([trace])

    plot.refresh_from_db()
    assert plot.revision == 1
