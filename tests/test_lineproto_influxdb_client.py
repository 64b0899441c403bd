"""InfluxDB's own Python client (influxdb-client) writes into a plot unchanged, as the five lines
in docs/ingest.md show: points, records and a gzip body, answered as InfluxDB answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException


@pytest.fixture
def client(server, producer):
    """The producer's InfluxDB client, pointed at the live server with their API key as token."""
    with InfluxDBClient(url=server.url, token=producer.key, org="any", timeout=30_000) as influx:
        yield influx


def test_the_client_writes_points_each_series_a_trace(client, producer):
    plot = producer.make_plot([])
    write_api = client.write_api(write_options=SYNCHRONOUS)
    at = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)
    write_api.write(bucket=str(plot["id"]), record=Point("reactor").tag("unit", "2").field("temp", 71.5).time(at))
    write_api.write(
        bucket=str(plot["id"]),
        record=["reactor,unit=2 temp=72 1796637601000", "reactor,unit=2 pressure=3i 1796637601000"],
        write_precision=WritePrecision.MS,
    )
    traces = {trace["name"]: trace for trace in producer.figure(plot["id"])["data"]}
    assert traces["reactor temp unit=2"]["x"] == ["2026-12-07T10:00:00.123456", "2026-12-07T10:00:01.000"]
    assert traces["reactor temp unit=2"]["y"] == [71.5, 72]
    assert traces["reactor pressure unit=2"]["y"] == [3]


def test_the_client_with_gzip_writes_the_same(server, producer):
    plot = producer.make_plot([])
    with InfluxDBClient(url=server.url, token=producer.key, org="any", enable_gzip=True) as influx:
        influx.write_api(write_options=SYNCHRONOUS).write(
            bucket=str(plot["id"]), record=[f"g v={i}i {i}" for i in range(50)], write_precision=WritePrecision.S
        )
    [trace] = producer.figure(plot["id"])["data"]
    assert trace["y"] == list(range(50))
    assert trace["x"][:2] == ["1970-01-01T00:00:00", "1970-01-01T00:00:01"]


def test_the_client_gets_influxdb_errors(client, producer):
    plot = producer.make_plot([])
    write_api = client.write_api(write_options=SYNCHRONOUS)
    with pytest.raises(ApiException) as bad:
        write_api.write(bucket=str(plot["id"]), record=["ok v=1 1", "ok v=oops 2", "ok v=3 3"])
    assert bad.value.status == 400
    assert "line 2: unable to parse 'ok v=oops 2'" in bad.value.message
    assert producer.figure(plot["id"])["data"][0]["y"] == [1, 3]
    with pytest.raises(ApiException) as missing:
        write_api.write(bucket="0", record="ok v=1")
    assert missing.value.status == 404
