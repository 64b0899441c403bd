"""A trace's CSV has a column for every per-point attribute a stream can append (the stream
protocol's own list), coordinates first."""

import csv
import io

import pytest

from core.models import Plot, Trace
from core.protocol import COORDINATES, PER_POINT_ATTRIBUTES
from core.window import set_path

pytestmark = pytest.mark.django_db


def test_every_appendable_attribute_is_a_column(client, alice):
    plot = Plot.objects.create(owner=alice, title="csv")
    spec = {
        "type": "scatter",
        "x": [1, 2],
        "y": [3, 4],
        "hovertext": ["a", "b"],
        "customdata": [7, 8],
        "marker": {"opacity": [0.5, 1], "color": "red"},
    }
    Trace.objects.create(plot=plot, index=0, spec=spec)
    rows = list(csv.reader(io.StringIO(client.get(f"/~alice/{plot.pk}/traces/0.csv").content.decode())))
    assert rows[0][:2] == ["x", "y"]
    assert set(rows[0]) == {"x", "y", "hovertext", "customdata", "marker.opacity"}
    assert dict(zip(rows[0], rows[1], strict=True))["hovertext"] == "a"


def test_every_per_point_attribute_a_trace_holds_is_exported(client, alice):
    plot = Plot.objects.create(owner=alice, title="all of them")
    spec = {"type": "scatter", "mode": "lines"}
    for position, path in enumerate(PER_POINT_ATTRIBUTES):
        set_path(spec, path, [position, position + 0.5])
    Trace.objects.create(plot=plot, index=0, spec=spec)

    rows = list(csv.reader(io.StringIO(client.get(f"/~alice/{plot.pk}/traces/0.csv").content.decode())))

    assert rows[0] == list(PER_POINT_ATTRIBUTES)
    assert rows[0][: len(COORDINATES)] == list(COORDINATES)
    assert rows[1] == [str(position) for position in range(len(PER_POINT_ATTRIBUTES))]
    assert rows[2] == [str(position + 0.5) for position in range(len(PER_POINT_ATTRIBUTES))]
