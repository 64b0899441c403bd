"""Each trace's producer shows on the page as streaming or idle, as it connects and goes away."""

from __future__ import annotations

import pytest

from harness.producer import RawStream

pytestmark = pytest.mark.browser


def producer_state(trace: int) -> str:
    return f"document.querySelector(\"#producers li[data-trace='{trace}']\")?.dataset.state"


def test_a_producer_shows_streaming_while_connected_and_idle_once_gone(server, producer, page):
    first, second = producer.make_token(), producer.make_token()
    plot = producer.make_plot([first, second])
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {producer_state(0)} === 'idle' && {producer_state(1)} === 'idle'")

    stream = RawStream(server.port, first).open()  # connected, nothing written yet
    page.wait_for_function(f"() => {producer_state(0)} === 'streaming'")
    assert page.evaluate(f"() => {producer_state(1)}") == "idle"

    assert stream.end().status == 200
    page.wait_for_function(f"() => {producer_state(0)} === 'idle'")


def test_a_page_opened_during_a_stream_shows_it_streaming(streaming_plot, page):
    _, plot, stream = streaming_plot()
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {producer_state(0)} === 'streaming'")
    stream.close()  # the producer vanishes without ending its request
    page.wait_for_function(f"() => {producer_state(0)} === 'idle'")
