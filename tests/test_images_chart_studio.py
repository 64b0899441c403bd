"""chart_studio 1.1.0's static images, unmodified, against plotserver: `py.image.get` and
`py.image.save_as` post the figure to /v2/images and get the image's bytes back."""

from __future__ import annotations

import base64
import json
import struct
import textwrap

import pytest

from tests.plotly_clients import ClientProcess, chart_studio_python, client_env

pytestmark = pytest.mark.clients

SCRIPT = """
import base64, json, os, sys
import chart_studio.plotly as py
import chart_studio.tools as tls
import chart_studio.exceptions
import plotly.graph_objs as go

CONFIG = json.loads(sys.argv[1])
tls.set_credentials_file(username=CONFIG["username"], api_key=CONFIG["key"])
tls.set_config_file(plotly_domain=CONFIG["url"], plotly_api_domain=CONFIG["url"])

def emit(**result):
    print("RESULT " + json.dumps(result), flush=True)

layout = dict(title="from chart_studio", showlegend=True)
fig = go.Figure([go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="sensor-a")], layout=layout)
png = py.image.get(fig, "png", width=400, height=300, scale=2)
py.image.save_as(fig, "saved.svg")
py.image.save_as(fig, "saved", format="pdf", width=500, height=400)
py.image.save_as({"data": [{"type": "bar", "y": [4, 5]}]}, "bar.jpeg")
try:
    py.image.get(fig, "emf")
    refused = None
except chart_studio.exceptions.PlotlyRequestError as exc:
    refused = [exc.status_code, exc.message]
emit(
    png=base64.b64encode(png).decode(),
    svg=open("saved.svg").read(),
    pdf=base64.b64encode(open("saved.pdf", "rb").read()[:8]).decode(),
    jpeg=base64.b64encode(open("bar.jpeg", "rb").read()[:3]).decode(),
    refused=refused,
)
"""


def test_py_image_get_and_save_as_return_the_images(server, producer, tmp_path):
    config = {"url": server.url, "username": producer.username, "key": producer.key}
    client = ClientProcess(
        [str(chart_studio_python()), "-c", textwrap.dedent(SCRIPT), json.dumps(config)],
        client_env(tmp_path),
        cwd=tmp_path,
    )
    result = client.result(timeout=180)
    client.finish()

    png = base64.b64decode(result["png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (800, 600), "400 x 300 at scale 2"
    assert result["svg"].startswith("<svg") and "from chart_studio" in result["svg"] and "sensor-a" in result["svg"]
    assert base64.b64decode(result["pdf"]).startswith(b"%PDF-")
    assert base64.b64decode(result["jpeg"]) == b"\xff\xd8\xff"
    status, message = result["refused"]
    assert status == 400 and "format is one of png, jpeg, svg, pdf" in message
