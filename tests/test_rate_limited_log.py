"""A repeated failure is logged once an interval, with how many times it happened meanwhile."""

from __future__ import annotations

import logging

from base.rate_limited_log import RateLimitedLog


def test_repeats_within_the_interval_are_folded_into_the_next_line(caplog):
    logger = logging.getLogger("plotserver.test-rate")
    failures = RateLimitedLog(logger, interval=3600)
    with caplog.at_level(logging.WARNING, logger="plotserver.test-rate"):
        for _ in range(1000):
            failures.warning("publish", "could not publish")
        failures.warning("other", "another kind")
    assert [r.getMessage() for r in caplog.records] == ["could not publish", "another kind"]

    failures.last["publish"] -= 3600  # the interval has passed
    with caplog.at_level(logging.WARNING, logger="plotserver.test-rate"):
        failures.warning("publish", "could not publish")
    assert caplog.records[-1].getMessage() == "could not publish (999 more since the last such line)"
