"""An empty plot says "waiting for data"; its owner gets commands that stream as shown: the
real token and this server's address, curl with `-T -` (so a `while true` producer streams
as it goes), Python and chart_studio, each with a copy button."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from harness.live_server import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_plot(member):
    token = member.api.make_token("waiting")
    return member.api.make_plot([token], title="Empty so far"), token


def command(page, name: str) -> str:
    page.click(f"#waiting [data-tab='{name}']")
    return page.locator(f"#waiting #command-{name}").inner_text()


def test_the_curl_command_carries_the_real_token_and_host_and_streams_while_it_runs(member_page, server, empty_plot):
    plot, token = empty_plot
    page = member_page
    page.goto(plot["web_url"])
    assert page.locator("#waiting h2").inner_text().strip() == "Waiting for data"
    curl = command(page, "curl")
    assert f"plotly-streamtoken: {token}" in curl and f"{server.url}/" in curl
    assert "-T -" in curl and "--data-binary @-" not in curl and "TOKEN" not in curl
    # The command as shown, never ending: points must show while it runs.
    # A session of its own, so that the whole pipeline (loop and curl) is stopped afterwards.
    producer = subprocess.Popen(
        ["bash", "-c", curl], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        page.wait_for_function("() => (document.getElementById('plot').data?.[0]?.x?.length || 0) >= 2")
        page.locator("#waiting").wait_for(state="hidden")
    finally:
        os.killpg(producer.pid, signal.SIGTERM)
        producer.wait(10)


def test_the_python_command_streams_as_shown(member_page, server, empty_plot, member):
    plot, token = empty_plot
    page = member_page
    page.goto(plot["web_url"])
    python = command(page, "python")
    assert f'"{token}"' in python and f'"127.0.0.1", {server.port}' in python
    producer = subprocess.Popen([sys.executable, "-c", python], stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(member.api.figure(plot["id"])["data"][0]["x"]) >= 2, message="points from Python")
    finally:
        producer.terminate()
        producer.wait(10)


def test_the_chart_studio_command_names_the_token_and_this_server(member_page, server, empty_plot):
    plot, token = empty_plot
    member_page.goto(plot["web_url"])
    chart_studio = command(member_page, "chart-studio")
    assert f'py.Stream("{token}")' in chart_studio and f'plotly_domain="{server.url}"' in chart_studio


def test_the_copy_button_copies_the_command(member_page, server, empty_plot):
    plot, token = empty_plot
    page = member_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(plot["web_url"])
    page.click("#waiting [data-panel='curl'] .copy-button")
    wait_for(lambda: token in page.evaluate("() => navigator.clipboard.readText()"), message="the command copied")


def test_a_visitor_sees_waiting_for_data_without_any_token(page, empty_plot):
    plot, token = empty_plot
    page.goto(plot["web_url"])
    assert "Waiting for data" in page.locator("#waiting").inner_text()
    assert token not in page.content()
