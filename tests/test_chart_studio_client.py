"""Plotly's Python client, chart_studio 1.1.0 with plotly 5.24.1, unmodified, against plotserver.

The client runs in a virtual environment of its own (tests/plotly_clients.py) with its own HOME,
configured only by `set_config_file` pointing at the test server. It streams to port 80 whatever
`plotly_streaming_domain` says, so the server runs its stream listener on port 80 (the tests run
as root; one server at a time holds the port).
"""

from __future__ import annotations

import json
import textwrap
import urllib.request

import pytest

from harness.live_server import Api, LiveServer, new_user, wait_for
from tests.plotly_clients import ClientProcess, Viewer, chart_studio_python, client_env

pytestmark = pytest.mark.clients

PREAMBLE = """
import json, sys, time
import chart_studio.plotly as py
import chart_studio.tools as tls
import plotly.graph_objs as go

CONFIG = json.loads(sys.argv[1])
tls.set_credentials_file(username=CONFIG["username"], api_key=CONFIG["key"])
# The three steps of docs/migrating-from-plotly.md: every domain is the plotserver's URL.
tls.set_config_file(
    plotly_domain=CONFIG["url"], plotly_api_domain=CONFIG["url"], plotly_streaming_domain=CONFIG["url"],
)

def emit(**result):
    print("RESULT " + json.dumps(result), flush=True)

def wait_go():
    assert sys.stdin.readline().strip() == "go"
"""


@pytest.fixture(scope="module")
def chart_studio() -> str:
    """The python of chart_studio's own virtual environment, built on first use."""
    return str(chart_studio_python())


@pytest.fixture(scope="module")
def server80(integration_db, artifacts):
    """A plotserver whose stream listener is on port 80, where chart_studio streams."""
    server = LiveServer(
        {**integration_db.env, "STREAM_PORT": "80", "STREAM_HOST": "127.0.0.1"}, artifacts, name="chart-studio"
    ).start()
    yield server
    server.stop(timeout=30)


@pytest.fixture
def user(integration_db, server80):
    """A plotserver user who brought two stream tokens from Plotly (imported with their old values)."""
    api = new_user(integration_db.env, server80.url)
    api.tokens = [api.ok("POST", "/api/streams/", {"token": f"{api.username}{n}tok"})["token"] for n in (1, 2)]
    return api


def run(python: str, tmp_path, user, code: str) -> ClientProcess:
    config = {"url": user.base_url, "username": user.username, "key": user.key, "tokens": user.tokens}
    script = PREAMBLE + textwrap.dedent(code)
    return ClientProcess([python, "-c", script, json.dumps(config)], client_env(tmp_path))


def plot_id(url: str) -> int:
    return int(url.split("/~", 1)[1].split("/")[1].split("?")[0])


def ws_url(server: LiveServer, plot: int) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/plots/{plot}/"


def test_it_plots_into_a_folder_streams_every_point_and_gets_the_figure_back(chart_studio, tmp_path, server80, user):
    client = run(
        chart_studio,
        tmp_path,
        user,
        """
        tok1, tok2 = CONFIG["tokens"]
        py.sign_in(CONFIG["username"], CONFIG["key"])
        fig = go.Figure([
            go.Scatter(x=[], y=[], mode="lines+markers", stream=dict(token=tok1, maxpoints=50)),
            go.Scatter(stream=dict(token=tok2)),
        ], layout=dict(title="live"))
        url = py.plot(fig, filename="folder/live", auto_open=False)
        emit(url=url)
        wait_go()

        s = py.Stream(tok1)
        s.open()
        s.write(dict(x=1, y=10))
        s.write(dict(x=2, y=20))
        s.heartbeat()
        s.write(go.Scatter(x=[5, 6, 7], y=[50, 60, 70]))
        s.write(dict(x=8, y=80), layout=dict(title="t2"))
        connected = s.connected  # False had the server sent a byte while the stream is open
        s.write(dict(x=9, y=90))
        s.close()  # right after the last write: that point must not be lost

        s2 = py.Stream(tok2)
        s2.open()
        s2.write(dict(x=1, y=1))
        s2.close()
        emit(connected=connected)
        wait_go()

        import chart_studio.tools
        figure = py.get_figure(url)
        emit(figure=figure.to_plotly_json(), embed=chart_studio.tools.get_embed(url))
    """,
    )
    url = client.result()["url"]
    assert url.startswith(f"{server80.url}/~{user.username}/") and url.endswith("/")
    plot = plot_id(url)
    info = user.ok("GET", f"/api/plots/{plot}/")
    assert info["title"] == "live"

    viewer = Viewer(ws_url(server80, plot))
    try:
        client.go()
        # A server that did not answer and close at once would stall close() past result()'s deadline.
        streamed = client.result()
        assert streamed["connected"] is True

        expected = [{"x": [5, 6, 7, 8, 9], "y": [50, 60, 70, 80, 90]}, {"x": [1], "y": [1]}]
        for index, points in enumerate(expected):
            wait_for(lambda i=index, p=points: {k: user.figure(plot)["data"][i].get(k) for k in "xy"} == p)
            wait_for(lambda i=index, p=points: {k: viewer.trace(i).get(k) for k in "xy"} == p, timeout=5)
        assert user.figure(plot)["layout"]["title"]["text"] == "t2"
        assert viewer.layout["title"]["text"] == "t2"
    finally:
        viewer.close()

    client.go()
    fetched = client.result()
    client.finish()
    assert [(t["x"], t["y"]) for t in fetched["figure"]["data"]] == [
        ([5, 6, 7, 8, 9], [50, 60, 70, 80, 90]),
        ([1], [1]),
    ]
    embed_url = url[:-1] + ".embed"
    assert f'src="{embed_url}"' in fetched["embed"]
    with urllib.request.urlopen(embed_url, timeout=10) as response:
        assert response.status == 200


def test_replotting_under_the_same_filename_keeps_the_plot_and_its_stream(chart_studio, tmp_path, server80, user):
    client = run(
        chart_studio,
        tmp_path,
        user,
        """
        tok1 = CONFIG["tokens"][0]
        first = py.plot([go.Scatter(x=[1, 2], y=[1, 2], stream=dict(token=tok1))], filename="again", auto_open=False)
        second = py.plot(
            go.Figure([go.Scatter(x=[], y=[], stream=dict(token=tok1))], layout=dict(title="second")),
            filename="again", auto_open=False,
        )
        s = py.Stream(tok1)
        s.open()
        s.write(dict(x=3, y=30))
        s.close()
        emit(first=first, second=second)
    """,
    )
    result = client.result()
    client.finish()
    assert result["first"] == result["second"]
    plot = plot_id(result["first"])
    wait_for(lambda: user.figure(plot)["data"][0]["x"] == [3])
    figure = user.figure(plot)
    assert figure["data"][0]["y"] == [30]
    assert figure["layout"]["title"]["text"] == "second"
    plots = user.ok("GET", "/api/plots/")
    titles = [p["title"] for p in (plots["results"] if isinstance(plots, dict) else plots)]
    assert titles.count("again") == 1


def test_a_secret_plot_opens_only_with_its_share_key(chart_studio, tmp_path, server80, user):
    client = run(
        chart_studio,
        tmp_path,
        user,
        """
        url = py.plot([go.Scatter(x=[1], y=[2])], filename="hidden", sharing="secret", auto_open=False)
        emit(url=url)
    """,
    )
    url = client.result()["url"]
    client.finish()
    assert "?share_key=" in url
    plot = plot_id(url)
    share_key = url.split("share_key=")[1]
    with urllib.request.urlopen(url, timeout=10) as response:  # follows the redirect to .../<n>/?share_key=
        assert response.status == 200
    anonymous = Api(server80.url)
    assert anonymous.get(f"/api/plots/{plot}/figure/")[0] == 404
    status, figure = anonymous.get(f"/api/plots/{plot}/figure/?share_key={share_key}")
    assert status == 200
    assert figure["data"][0]["y"] == [2]


def test_two_producers_on_one_token_show_as_takeovers_in_its_status(chart_studio, tmp_path, server80, user):
    """Plotly's rule: the newest connection wins, so two producers take turns and lose points (G8)."""
    client = run(
        chart_studio,
        tmp_path,
        user,
        """
        tok1 = CONFIG["tokens"][0]
        py.plot([go.Scatter(x=[], y=[], stream=dict(token=tok1))], filename="fight", auto_open=False)
        a, b = py.Stream(tok1), py.Stream(tok1)
        a.open()
        a.write(dict(x=1, y=1))
        b.open()
        b.write(dict(x=2, y=2))
        emit(b_took_over=True)
        wait_go()  # until the server has counted b's takeover of a
        a.write(dict(x=3, y=3))
        a.write(dict(x=4, y=4))
        b.close()
        a.close()
        emit(done=True)
    """,
    )
    client.result()
    wait_for(lambda: user.stream_status(user.tokens[0])["takeovers"] >= 1)
    client.go()
    client.result()
    client.finish()
    status = wait_for(lambda: (s := user.stream_status(user.tokens[0]))["takeovers"] >= 1 and s)
    assert status["connected"] is False
