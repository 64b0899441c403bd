"""CSV rows become points: a header or --columns names the attributes, fields become values."""

from __future__ import annotations

from tests.client_module import plotserver_client as client


def test_numbers_become_numbers_and_the_rest_stays_text():
    assert client.csv_value("42") == 42
    assert client.csv_value("-1.5e3") == -1500.0
    assert client.csv_value(" 2.5 ") == 2.5
    assert client.csv_value("2026-11-28T10:00:01") == "2026-11-28T10:00:01"
    assert client.csv_value("1_000") == "1_000"
    assert client.csv_value("nan") == "nan"


def test_an_empty_field_is_a_gap():
    assert client.csv_value("") is None


def test_the_header_row_names_the_attributes():
    rows = client.CsvRows(None)
    assert rows.point("x,y,marker.color") is None
    assert rows.point("1,2.5,red") == {"x": 1, "y": 2.5, "marker.color": "red"}


def test_columns_map_each_field_and_a_dash_skips_one():
    rows = client.CsvRows(["x", "-", "y"])
    assert rows.point("2026-11-28T10:00:00,ignored,3") == {"x": "2026-11-28T10:00:00", "y": 3}


def test_skip_header_drops_the_first_row_when_columns_are_given():
    rows = client.CsvRows(["x", "y"], skip_header=True)
    assert rows.point("time,temperature") is None
    assert rows.point("1,20.5") == {"x": 1, "y": 20.5}


def test_quoted_fields_keep_their_commas_and_blank_lines_are_skipped():
    rows = client.CsvRows(["x", "text"])
    assert rows.point("") is None
    assert rows.point('1,"a, b"') == {"x": 1, "text": "a, b"}
