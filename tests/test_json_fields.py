"""The stored JSON (windows, layouts, appended rows) reads back exactly as written, whether
orjson decodes it or, for what orjson refuses, the standard library."""

import math

import pytest

from base.fastjson import FastJSONDecoder
from core.models import Plot, Trace


@pytest.mark.django_db
def test_a_window_reads_back_as_stored(alices_plot):
    spec = {"type": "scatter", "x": [1, 2.5, -3e-7, 10**18], "y": ["a", "é", "\u2603"], "marker": {"color": [None]}}
    trace = Trace.objects.create(plot=alices_plot, index=1, spec=spec)
    assert Trace.objects.get(pk=trace.pk).spec == spec


@pytest.mark.django_db
def test_an_integer_beyond_64_bits_is_stored_and_reads_back_as_the_nearest_double(alices_plot):
    """As a browser holds it. Up to 64 bits, integers read back exactly."""
    trace = alices_plot.traces.get()
    trace.spec = {"x": [2**64 - 1, -(2**63)], "y": [123456789012345678901234567890]}
    trace.save()
    spec = Trace.objects.get(pk=trace.pk).spec
    assert spec["x"] == [2**64 - 1, -(2**63)] and all(type(v) is int for v in spec["x"])
    assert spec["y"] == [1.2345678901234568e29] and type(spec["y"][0]) is float


@pytest.mark.django_db
def test_a_layout_reads_back_as_stored(alices_plot):
    alices_plot.layout = {"title": {"text": "big"}, "xaxis": {"range": [0, 1e300]}, "meta": [1, "2", None]}
    alices_plot.save()
    assert Plot.objects.get(pk=alices_plot.pk).layout == {
        "title": {"text": "big"},
        "xaxis": {"range": [0, 1e300]},
        "meta": [1, "2", None],
    }


def test_text_that_orjson_refuses_is_decoded_as_the_standard_library_does():
    decoder = FastJSONDecoder()
    assert math.isnan(decoder.decode("[NaN]")[0])  # a row SQLite stored before values were checked
    assert decoder.decode('"\\ud800"') == "\ud800"  # a lone surrogate


def test_malformed_text_is_still_an_error():
    with pytest.raises(ValueError):
        FastJSONDecoder().decode('{"a": ')
