"""Plotly's Python client, chart_studio 1.1.0 unmodified: `py.dashboard_ops` against plotserver.

`upload` (a new dashboard, then the same filename again: overwritten, found by
/v2/files/lookup), `get_dashboard_names` and `get_dashboard` (the content as uploaded), and the
uploaded boxes shown as panels of a dashboard page.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from harness.live_server import fetch, new_user
from tests.plotly_clients import ClientProcess, chart_studio_python, client_env
from tests.test_chart_studio_client import PREAMBLE

pytestmark = pytest.mark.clients


def test_dashboard_ops_upload_overwrite_list_and_get_work_unchanged(integration_db, server, tmp_path):
    user = new_user(integration_db.env, server.url)
    config = {"url": server.url, "username": user.username, "key": user.key}
    code = """
    import chart_studio.dashboard_objs as dashboard
    py.sign_in(CONFIG["username"], CONFIG["key"])
    def fid(url):
        return CONFIG["username"] + ":" + url.split("/")[4]
    a = py.plot(go.Figure([go.Scatter(x=[1, 2], y=[3, 4])]), filename="temperature", auto_open=False)
    b = py.plot(go.Figure([go.Scatter(x=[1, 2], y=[5, 6])]), filename="pressure", auto_open=False)
    box_a = {"type": "box", "boxType": "plot", "fileId": fid(a), "title": "A"}
    box_b = {"type": "box", "boxType": "plot", "fileId": fid(b), "title": "B"}
    first = dashboard.Dashboard()
    first.insert(box_a)
    first.insert(box_b, "right", 1)
    url = py.dashboard_ops.upload(first, "Rig", sharing="public", auto_open=False)
    emit(url=url, names=py.dashboard_ops.get_dashboard_names(), a=fid(a), b=fid(b))
    wait_go()
    second = dashboard.Dashboard()
    second.insert(box_b)
    again = py.dashboard_ops.upload(second, "Rig", sharing="private", auto_open=False)
    got = py.dashboard_ops.get_dashboard("Rig")
    emit(url=again, names=py.dashboard_ops.get_dashboard_names(), got=dict(got), sent=dict(second))
    """
    script = PREAMBLE + textwrap.dedent(code)
    client = ClientProcess([chart_studio_python().as_posix(), "-c", script, json.dumps(config)], client_env(tmp_path))
    first = client.result(timeout=120)
    assert first["names"] == ["Rig"]
    assert fetch(first["url"])[0] == 200  # public: a dashboard page anyone may open
    plot_a, plot_b = (int(first[k].split(":")[1]) for k in ("a", "b"))
    [made] = user.ok("GET", "/api/dashboards/")["results"]
    assert [(p["plot"], p["title"], p["x"], p["w"]) for p in made["panels"]] == [
        (plot_a, "A", 0, 6),
        (plot_b, "B", 6, 6),
    ]  # side by side, as inserted

    client.go()
    second = client.result(timeout=120)
    assert second["url"] == first["url"] and second["names"] == ["Rig"]  # overwritten, by filename
    assert second["got"] == second["sent"]  # the content as uploaded
    [kept] = user.ok("GET", "/api/dashboards/")["results"]
    assert kept["id"] == made["id"] and kept["sharing"] == "private"
    assert [p["plot"] for p in kept["panels"]] == [plot_b]
    assert fetch(first["url"])[0] == 404  # private now


def test_dashboard_ops_upload_secret_answers_a_link_with_its_share_key(integration_db, server, tmp_path):
    user = new_user(integration_db.env, server.url)
    config = {"url": server.url, "username": user.username, "key": user.key}
    code = """
    import chart_studio.dashboard_objs as dashboard
    py.sign_in(CONFIG["username"], CONFIG["key"])
    a = py.plot(go.Figure([go.Scatter(x=[1, 2], y=[3, 4])]), filename="flow", auto_open=False)
    board = dashboard.Dashboard()
    board.insert({"type": "box", "boxType": "plot", "fileId": CONFIG["username"] + ":" + a.split("/")[4]})
    emit(url=py.dashboard_ops.upload(board, "Secret rig", sharing="secret", auto_open=False))
    """
    script = PREAMBLE + textwrap.dedent(code)
    client = ClientProcess([chart_studio_python().as_posix(), "-c", script, json.dumps(config)], client_env(tmp_path))
    url = client.result(timeout=120)["url"]
    [made] = user.ok("GET", "/api/dashboards/")["results"]
    assert made["sharing"] == "secret"
    assert url.endswith(f"?share_key={made['share_key']}")
    assert fetch(url)[0] == 200  # anyone with the link, no login
    assert fetch(url.split("?")[0])[0] == 404  # without the key
