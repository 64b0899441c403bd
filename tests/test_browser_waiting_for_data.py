"""An empty plot says "waiting for data"; its owner gets commands that stream as shown: the
real token and this server's address, curl with `-T -` (so a `while true` producer streams
as it goes), Python with plotserver's client, and chart_studio, each with a copy button.
chart_studio streams to port 80 only, to the stream listener: without a listener it can reach,
its tab says how to get one instead of showing a script that cannot work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.live_server import free_port, wait_for

pytestmark = pytest.mark.browser

CLIENT = Path(__file__).resolve().parent.parent / "client"


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


def test_the_python_command_uses_the_client_and_streams_as_shown(member_page, server, empty_plot, member):
    plot, token = empty_plot
    page = member_page
    page.goto(plot["web_url"])
    python = command(page, "python")
    assert "from plotserver_client import Stream" in python
    assert f'Stream("{server.url}", "{token}")' in python
    assert "pip install ./client" in page.locator("#waiting [data-panel='python']").inner_text()
    # The client importable as `pip install ./client` would make it.
    env = {**os.environ, "PYTHONPATH": str(CLIENT)}
    producer = subprocess.Popen([sys.executable, "-c", python], env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(member.api.figure(plot["id"])["data"][0]["x"]) >= 2, message="points from Python")
    finally:
        producer.terminate()
        producer.wait(10)


def chart_studio_tab(page, url: str) -> tuple[str, int]:
    """The chart_studio tab's text, and how many scripts the whole page shows for chart_studio."""
    page.goto(url)
    page.click("#waiting [data-tab='chart-studio']")
    tab = page.locator("#waiting [data-panel='chart-studio']").inner_text()
    return tab, page.locator("[data-panel='chart-studio'] pre").count()


def test_without_a_stream_listener_the_chart_studio_tab_says_how_to_start_one(member_page, empty_plot):
    tab, scripts = chart_studio_tab(member_page, empty_plot[0]["web_url"])
    assert scripts == 0 and "py.Stream" not in tab
    assert "STREAM_PORT=80" in tab and "off on this server" in tab


def test_with_the_listener_on_another_port_the_chart_studio_tab_says_it_needs_port_80(
    member_page, start_server, empty_plot
):
    port = free_port()
    other = start_server(name="listener", STREAM_PORT=str(port), STREAM_HOST="127.0.0.1")
    tab, scripts = chart_studio_tab(member_page, other.url + urlsplit(empty_plot[0]["web_url"]).path)
    assert scripts == 0 and "py.Stream" not in tab
    assert f"http://127.0.0.1:{port}" in tab and "port 80 only" in tab and "STREAM_PUBLIC_URL" in tab


def test_with_the_listener_on_port_80_the_chart_studio_script_names_it(member_page, start_server, empty_plot):
    # Port 80 of stream.test: the address STREAM_PUBLIC_URL gives (a TCP proxy there, say).
    other = start_server(
        name="listener80", STREAM_PORT=str(free_port()), STREAM_HOST="127.0.0.1", STREAM_PUBLIC_URL="http://stream.test"
    )
    plot, token = empty_plot
    member_page.goto(other.url + urlsplit(plot["web_url"]).path)
    chart_studio = command(member_page, "chart-studio")
    assert f'py.Stream("{token}")' in chart_studio and f'plotly_domain="{other.url}"' in chart_studio
    assert 'plotly_streaming_domain="http://stream.test"' in chart_studio


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
