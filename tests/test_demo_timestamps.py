"""The demo producer's x values only ever move forward, across every turn of a second."""

from web.management.commands.demo import timestamp


def test_a_timestamp_is_utc_to_the_millisecond():
    assert timestamp(1_700_000_048.9004) == "2023-11-14 22:14:08.900"


def test_timestamps_increase_across_a_second_boundary():
    moments = [1_700_000_048.9 + step / 1000 for step in range(0, 250, 3)]
    stamps = [timestamp(moment) for moment in moments]
    assert stamps == sorted(stamps)
    assert stamps[-1] >= "2023-11-14 22:14:09.000"


def test_the_last_millisecond_of_a_second_stays_in_that_second():
    assert timestamp(1_700_000_048.9999) == "2023-11-14 22:14:08.999"
