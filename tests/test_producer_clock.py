"""plotly-convertTimestamp: x in milliseconds of the producer's clock, turned into dates in a zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.producer_clock import ProducerClock, UnknownZone, zone_named
from core.protocol import LineRejected, parse_line

ARRIVED = datetime(2026, 12, 7, 20, 0, 0, tzinfo=UTC)  # 15:00 in Montreal


def converted(clock: ProducerClock, line: bytes, arrived: datetime = ARRIVED) -> object:
    update = parse_line(line)
    assert update is not None
    clock.convert(update, arrived)
    return update.trace.get("x")


def test_the_zone_is_read_quoted_as_the_arduino_sends_it_or_bare():
    assert zone_named('"America/Montreal"').key == "America/Montreal"
    assert zone_named(" Europe/Zurich ").key == "Europe/Zurich"


@pytest.mark.parametrize("value", ['"Mars/Olympus_Mons"', "", '""', "../../etc/passwd", "/etc/localtime"])
def test_an_unknown_zone_is_refused_naming_it(value):
    with pytest.raises(UnknownZone, match="unknown time zone") as refused:
        zone_named(value)
    assert repr(value.strip().strip('"')) in str(refused.value)


def test_the_first_x_is_the_time_it_arrived_and_the_others_follow_by_their_difference():
    clock = ProducerClock(zone_named('"America/Montreal"'))
    assert converted(clock, b'{"x": 81234, "y": 5.00}') == "2026-12-07 15:00:00.000000"
    # Later lines arrive whenever they do: only their x counts.
    later = datetime(2026, 12, 7, 21, 0, 0, tzinfo=UTC)
    assert converted(clock, b'{"x": 82234.5, "y": 5.5}', later) == "2026-12-07 15:00:01.000500"
    assert converted(clock, b'{"x": 81000, "y": 1}', later) == "2026-12-07 14:59:59.766000"


def test_an_array_of_x_is_converted_value_by_value_nulls_kept():
    clock = ProducerClock(zone_named("UTC"))
    assert converted(clock, b'{"x": [1000, null, 3000], "y": [1, 2, 3]}') == [
        "2026-12-07 20:00:00.000000",
        None,
        "2026-12-07 20:00:02.000000",
    ]


def test_lines_without_x_are_left_alone():
    clock = ProducerClock(zone_named("UTC"))
    assert converted(clock, b'{"y": 1}') is None
    assert clock.anchor is None


def test_an_x_that_is_no_number_is_rejected_alone():
    clock = ProducerClock(zone_named("UTC"))
    with pytest.raises(LineRejected, match="milliseconds"):
        converted(clock, b'{"x": "2026-12-07", "y": 1}')
    assert converted(clock, b'{"x": 5, "y": 1}') == "2026-12-07 20:00:00.000000"


def test_an_x_past_the_calendar_is_rejected_alone():
    clock = ProducerClock(zone_named("UTC"))
    converted(clock, b'{"x": 0, "y": 1}')
    with pytest.raises(LineRejected, match="past the years"):
        converted(clock, b'{"x": 1e300, "y": 1}')


def test_an_annotations_own_x_and_x_end_are_the_same_clocks_and_become_dates_too():
    clock = ProducerClock(zone_named("UTC"))
    converted(clock, b'{"x": 1000, "y": 1}')
    update = parse_line(b'{"y": 2, "annotation": {"text": "valve open", "x": 2000, "x_end": 3500}}')
    clock.convert(update, ARRIVED)
    assert (update.annotation["x"], update.annotation["x_end"]) == (
        "2026-12-07 20:00:01.000000",
        "2026-12-07 20:00:02.500000",
    )
    without = parse_line(b'{"x": 4000, "y": 3, "annotation": {"text": "at the line\'s own x"}}')
    clock.convert(without, ARRIVED)
    assert "x" not in without.annotation and without.trace["x"] == "2026-12-07 20:00:03.000000"
