"""Plotly's Node client, npm plotly@1.0.6, unmodified, against plotserver.

It calls /clientresp over HTTPS only (here with a certificate from a test CA that node is told
to trust) and streams over plain HTTP to the host that /clientresp names, on port 80: the
stream listener.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import urllib.request

import pytest

from harness.live_server import TEST_TLS, LiveServer, new_user, wait_for
from tests.plotly_clients import ClientProcess, Viewer, client_env, node_plotly

pytestmark = [
    pytest.mark.clients,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def node_prefix():
    """A folder whose node_modules holds plotly@1.0.6, installed on first use."""
    return node_plotly()


@pytest.fixture(scope="module")
def https_server(integration_db, artifacts, tls_files):
    """plotserver on HTTPS, with its stream listener on port 80 (plain HTTP, as the client streams)."""
    server = LiveServer(
        {**integration_db.env, "STREAM_PORT": "80", "STREAM_HOST": "127.0.0.1"},
        artifacts,
        name="node-client",
        extra_args=("--ssl-keyfile", tls_files["key"], "--ssl-certfile", tls_files["cert"]),
    ).start()
    yield server
    server.stop(timeout=30)


SCRIPT = """
const readline = require('readline');
const config = JSON.parse(process.argv[1]);
const plotly = require('plotly')({username: config.username, apiKey: config.key, host: '127.0.0.1', port: config.port});
const emit = (result) => console.log('RESULT ' + JSON.stringify(result));
const lines = readline.createInterface({input: process.stdin});
const go = () => new Promise((resolve) => lines.once('line', resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const data = [{x: [], y: [], stream: {token: config.token, maxpoints: 200}}];
const options = {filename: 'node/live & more', fileopt: 'overwrite', layout: {title: 'a+b=100%'}};
plotly.plot(data, options, async (err, msg) => {
  if (err) { emit({error: String(err), body: err.body || null}); process.exit(1); }
  emit({plotted: msg, streamHost: plotly.streamHost});
  await go();
  const stream = plotly.stream(config.token, async (err, res) => {
    if (err) { emit({error: String(err)}); process.exit(1); }
    emit({ended: res});
    await go();
    const id = msg.url.split('/').pop();
    plotly.getFigure(config.username, id, (err, figure) => {
      emit({figure: figure || null, error: err ? String(err) : null});
      process.exit(0);
    });
  });
  for (let i = 1; i <= 5; i++) {
    stream.write(JSON.stringify({x: i, y: i * i}) + '\\n');
    await sleep(20);
  }
  stream.write(JSON.stringify({x: [10, 11], y: [1, 2]}) + '\\n');
  stream.write(JSON.stringify({x: 12, y: 3}) + '\\n');
  stream.end();
});
"""


def test_it_plots_over_https_and_streams_every_point_to_the_stream_host(
    node_prefix, tls_files, https_server, integration_db, tmp_path
):
    user = new_user(integration_db.env, https_server.url)
    token = user.ok("POST", "/api/streams/", {"token": f"{user.username}nodetok"})["token"]
    config = {"username": user.username, "key": user.key, "port": https_server.port, "token": token}
    env = client_env(tmp_path, NODE_EXTRA_CA_CERTS=tls_files["ca"], NODE_PATH=str(node_prefix / "node_modules"))
    client = ClientProcess(["node", "-e", textwrap.dedent(SCRIPT), json.dumps(config)], env, cwd=node_prefix)

    plotted = client.result()
    message = plotted["plotted"]
    assert message["error"] == ""
    assert message["streamstatus"] == "All Streams Go!"
    assert message["filename"] == "live & more"
    assert plotted["streamHost"] == "127.0.0.1"
    url = message["url"]
    assert url.startswith(f"{https_server.url}/~{user.username}/")
    plot = int(url.rsplit("/", 1)[1])
    info = user.ok("GET", f"/api/plots/{plot}/")
    assert info["title"] == "live & more"
    assert info["figure"]["layout"] == {"title": {"text": "a+b=100%"}}  # the form plotly.js draws
    with urllib.request.urlopen(url, timeout=10, context=TEST_TLS) as page:  # redirected to .../<n>/
        assert page.status == 200

    viewer = Viewer(f"wss://127.0.0.1:{https_server.port}/ws/plots/{plot}/")
    try:
        client.go()
        ended = client.result()
        assert ended["ended"] == {"msg": "healthy endpoint disconnect", "statusCode": 200}
        expected = {"x": [10, 11, 12], "y": [1, 2, 3]}
        wait_for(lambda: {k: user.figure(plot)["data"][0][k] for k in "xy"} == expected)
        wait_for(lambda: {k: viewer.trace(0).get(k) for k in "xy"} == expected, timeout=5)
    finally:
        viewer.close()
    status = user.stream_status(token)
    assert (status["accepted"], status["rejected"]) == (7, 0)

    client.go()
    fetched = client.result()
    client.finish()
    assert fetched["error"] is None
    assert fetched["figure"]["data"][0]["x"] == [10, 11, 12]
