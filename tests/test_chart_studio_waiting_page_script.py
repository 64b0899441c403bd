"""The chart_studio script an empty plot's page shows its owner, copied as shown and run with
chart_studio 1.1.0, streams into the plot: the server's stream listener is on port 80, where
chart_studio streams (the tests run as root; one server at a time holds the port)."""

from __future__ import annotations

import subprocess

import pytest

from harness.live_server import wait_for
from tests.browser import new_member
from tests.plotly_clients import chart_studio_python, client_env

pytestmark = [pytest.mark.clients, pytest.mark.browser]


@pytest.fixture
def server80(start_server):
    return start_server(name="waiting-80", STREAM_PORT="80", STREAM_HOST="127.0.0.1")


def test_the_chart_studio_script_streams_as_shown(server80, integration_db, page, tmp_path):
    python = chart_studio_python()
    owner = new_member(integration_db.env, server80.url)
    token = owner.api.make_token("chart studio")
    plot = owner.api.make_plot([token], title="From chart_studio")
    owner.log_in(page, server80.url)
    page.goto(plot["web_url"])
    page.click("#waiting [data-tab='chart-studio']")
    script = page.locator("#waiting #command-chart-studio").inner_text()
    assert 'plotly_streaming_domain="http://127.0.0.1"' in script

    producer = subprocess.Popen(
        [python, "-c", script], env=client_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: len(owner.api.figure(plot["id"])["data"][0]["x"]) >= 2,
            timeout=30,
            message="points from chart_studio",
        )
        page.locator("#waiting").wait_for(state="hidden")
    finally:
        producer.terminate()
        producer.wait(10)
