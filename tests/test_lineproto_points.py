"""How a body of line protocol becomes series and stream lines (lineproto/points.py), and how a
gzip body is undone within its bound: the rules, in process."""

from __future__ import annotations

import gzip
import json

import pytest

from lineproto.points import MAX_NAME, BadPrecision, SeriesKey, read_batch, x_of
from lineproto.views import NotGzip, TooLarge, gunzip

NOW = 1796637600_123456789  # 2026-12-07T10:00:00.123456789 UTC


def lines_of(batch, name: str) -> list[dict]:
    [key] = [key for key in batch.points if key.name == name]
    return [json.loads(line) for _, line in batch.points[key]]


def test_each_field_of_a_line_is_a_point_of_its_own_series():
    batch = read_batch(b"cpu,host=a,cpu=0 idle=97.5,user=2i,up=t 1796637600000000000", "ns", NOW)
    assert sorted(key.name for key in batch.points) == [
        "cpu idle cpu=0,host=a",
        "cpu up cpu=0,host=a",
        "cpu user cpu=0,host=a",
    ]
    assert lines_of(batch, "cpu idle cpu=0,host=a") == [{"x": "2026-12-07T10:00:00.000000", "y": 97.5}]
    assert lines_of(batch, "cpu user cpu=0,host=a") == [{"x": "2026-12-07T10:00:00.000000", "y": 2}]
    assert lines_of(batch, "cpu up cpu=0,host=a") == [{"x": "2026-12-07T10:00:00.000000", "y": 1}]


def test_tags_in_any_order_are_one_series_and_a_line_without_tags_has_none():
    batch = read_batch(b"m,b=2,a=1 v=1 1\nm,a=1,b=2 v=2 2\nm v=3 3\n", "s", NOW)
    assert sorted(key.name for key in batch.points) == ["m v", "m v a=1,b=2"]
    assert [line["y"] for line in lines_of(batch, "m v a=1,b=2")] == [1, 2]


def test_strings_unsigned_and_false_are_values_too():
    batch = read_batch(b'm s="on \\"fire\\"",u=18446744073709551615u,f=false 1', "s", NOW)
    assert lines_of(batch, "m s")[0]["y"] == 'on "fire"'
    assert lines_of(batch, "m u")[0]["y"] == 18446744073709551615
    assert lines_of(batch, "m f")[0]["y"] == 0


def test_escaped_names_are_read_as_influxdb_reads_them():
    batch = read_batch(b"my\\ meas,tag\\ key=a\\,b field\\=x=1 1", "s", NOW)
    assert [key.name for key in batch.points] == ["my meas field=x tag key=a,b"]


@pytest.mark.parametrize(
    ("precision", "stamp", "x"),
    [
        ("ns", 1796637600_123456789, "2026-12-07T10:00:00.123456"),
        ("n", 1796637600_123456789, "2026-12-07T10:00:00.123456"),
        ("us", 1796637600_123456, "2026-12-07T10:00:00.123456"),
        ("u", 1796637600_123456, "2026-12-07T10:00:00.123456"),
        ("ms", 1796637600_123, "2026-12-07T10:00:00.123"),
        ("s", 1796637600, "2026-12-07T10:00:00"),
        ("m", 29943960, "2026-12-07T10:00:00"),
        ("h", 499066, "2026-12-07T10:00:00"),
        ("s", -1, "1969-12-31T23:59:59"),
    ],
)
def test_the_timestamp_is_read_in_its_precision_as_a_utc_date(precision, stamp, x):
    batch = read_batch(f"m v=1 {stamp}".encode(), precision, NOW)
    assert lines_of(batch, "m v")[0]["x"] == x


def test_a_line_without_a_timestamp_takes_the_arrival_time_at_its_precision():
    assert lines_of(read_batch(b"m v=1", "ns", NOW), "m v")[0]["x"] == "2026-12-07T10:00:00.123456"
    assert lines_of(read_batch(b"m v=1", "ms", NOW), "m v")[0]["x"] == "2026-12-07T10:00:00.123"
    assert lines_of(read_batch(b"m v=1", "s", NOW), "m v")[0]["x"] == "2026-12-07T10:00:00"


def test_a_precision_influxdb_does_not_name_is_refused():
    with pytest.raises(BadPrecision, match="precision must be one of ns, n, us"):
        read_batch(b"m v=1", "fortnight", NOW)


def test_bad_lines_are_told_by_number_and_cost_only_themselves():
    body = b"ok v=1 1\r\nok v= 2\n\n# a comment\nok\nok v=abc 3\nok,t v=1 4\nok v=1 nope\nok v=4 5\n"
    batch = read_batch(body, "s", NOW)
    assert [line["y"] for line in lines_of(batch, "ok v")] == [1, 4]
    assert [number for number, _ in batch.points[next(iter(batch.points))]] == [1, 9]
    assert [number for number, _ in batch.errors] == [2, 5, 6, 7, 8]
    assert batch.errors[0][1].startswith("unable to parse 'ok v= 2': ")


def test_a_line_that_is_not_utf8_or_out_of_the_dates_range_is_rejected_alone():
    batch = read_batch(b'm v=1 1\nm s="\xff" 2\nm v=2 99999999999999999\nm v=3 3', "s", NOW)
    assert [number for number, _ in batch.errors] == [2, 3]
    assert "not valid UTF-8" in batch.errors[0][1]
    assert "out of the range a date holds" in batch.errors[1][1]
    assert batch.point_count == 2


def test_a_long_line_is_quoted_by_its_start():
    batch = read_batch(b"m v=" + b"9" * 500 + b"x", "s", NOW)
    [(_, message)] = batch.errors
    assert len(message) < 250 and "…'" in message


def test_a_series_is_known_by_its_whole_identity_and_named_within_bounds():
    assert SeriesKey("a b", (), "c").name == SeriesKey("a", (), "b c").name
    assert SeriesKey("a b", (), "c").digest != SeriesKey("a", (), "b c").digest
    long = SeriesKey("m", (("t", "x" * 500),), "f")
    assert len(long.name) == MAX_NAME and long.name.endswith("…")


def test_x_is_a_date_down_to_microseconds():
    assert x_of(0, "ns") == "1970-01-01T00:00:00.000000"
    with pytest.raises(ValueError):
        x_of(10**30, "ns")


def test_gzip_is_undone_within_the_bound_in_one_member_or_several():
    assert gunzip(gzip.compress(b"a v=1\n") + gzip.compress(b"b v=2\n"), 100) == b"a v=1\nb v=2\n"
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b"0" * 10_000_000), 1000)
    with pytest.raises(NotGzip):
        gunzip(b"plain text", 1000)
    with pytest.raises(NotGzip):
        gunzip(gzip.compress(b"a v=1\n")[:-10], 1000)
