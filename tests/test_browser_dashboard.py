"""The dashboard page in headless Chromium: several panels move live over one socket; the owner
moves, removes and adds panels; date axes are linked; kiosk mode shows only the panels."""

from __future__ import annotations

import pytest

from harness.live_server import wait_for
from harness.producer import RawStream

pytestmark = pytest.mark.browser

PANEL_POINTS = (
    "(plotId) => document.querySelector(`.dashboard-plot[data-plot-id='${plotId}']`)?.data?.[0]?.x?.length ?? -1"
)


def x_of(i: int) -> str:
    return f"2026-01-01T00:00:{i:02d}"


def test_several_panels_move_live_over_one_socket(server, producer, page, artifacts):
    tokens = [producer.make_token() for _ in range(3)]
    plots = [producer.make_plot([t], sharing="private", title=f"sensor {n}") for n, t in enumerate(tokens)]
    dashboard = producer.ok(
        "POST", "/api/dashboards/", {"title": "Rig", "sharing": "secret", "panels": [{"plot": p["id"]} for p in plots]}
    )
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(dashboard["web_url"])  # anonymous, by the secret link
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    assert page.locator(".dashboard-panel").count() == 3

    streams = [RawStream(server.port, t).open() for t in tokens]
    for i in range(15):
        for stream in streams:
            stream.write({"x": x_of(i), "y": i})
    for plot in plots:
        page.wait_for_function(f"() => ({PANEL_POINTS})({plot['id']}) === 15")
    # Drawn, not only held: the markers of every panel.
    assert page.locator(".dashboard-plot .scatterlayer .trace").count() == 3
    # An annotation reaches its panel over the same socket, drawn as on the plot page.
    producer.ok("POST", f"/api/plots/{plots[1]['id']}/annotations/", {"x": x_of(7), "text": "valve open"})
    drawn = (
        f"() => (document.querySelector(\".dashboard-plot[data-plot-id='{plots[1]['id']}']\").layout?.shapes || [])"
        ".filter(s => s.name?.startsWith('plotserver-annotation-')).length"
    )
    page.wait_for_function(f"() => ({drawn})() === 1")
    page.screenshot(path=str(artifacts / "dashboard.png"))
    assert len(sockets) == 1 and f"/ws/dashboards/{dashboard['id']}/" in sockets[0]
    for stream in streams:
        assert stream.end().status == 200


def test_the_owner_moves_removes_and_adds_panels_and_each_change_is_saved(server, member, member_page):
    api = member.api
    plots = [api.make_plot([api.make_token()], title=f"p{n}") for n in range(3)]
    dashboard = api.ok("POST", "/api/dashboards/", {"panels": [{"plot": p["id"]} for p in plots[:2]]})
    page = member_page
    page.goto(dashboard["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")

    first = page.locator(".dashboard-panel").first
    head = first.locator(".dashboard-panel-head h2").bounding_box()
    cell = page.locator("#dashboard").bounding_box()["width"] / 12
    page.mouse.move(head["x"] + 10, head["y"] + 5)
    page.mouse.down()
    page.mouse.move(head["x"] + 10 + 2 * cell, head["y"] + 5 + 3 * 80, steps=5)
    page.mouse.up()
    path = f"/api/dashboards/{dashboard['id']}/"
    wait_for(lambda: api.ok("GET", path)["panels"][0]["y"] == 3, message="the move was not saved")
    assert api.ok("GET", path)["panels"][0]["x"] == 2

    with page.expect_navigation():
        page.locator(".dashboard-panel").nth(1).locator(".panel-remove").click()
    assert [p["plot"] for p in api.ok("GET", path)["panels"]] == [plots[0]["id"]]

    page.select_option("#add-panel-plot", str(plots[2]["id"]))
    with page.expect_navigation():
        page.click("#add-panel button[type=submit]")
    assert [p["plot"] for p in api.ok("GET", path)["panels"]] == [plots[0]["id"], plots[2]["id"]]
    page.wait_for_function("() => document.querySelectorAll('.dashboard-panel').length === 2")


def test_panels_with_dates_on_x_zoom_together_and_return_to_live_together(server, producer, page):
    tokens = [producer.make_token() for _ in range(2)]
    plots = [producer.make_plot([t]) for t in tokens]
    for token in tokens:
        stream = RawStream(server.port, token).open()
        for i in range(30):
            stream.write({"x": x_of(i), "y": i})
        assert stream.end().status == 200
    dashboard = producer.ok(
        "POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": p["id"]} for p in plots]}
    )
    page.goto(dashboard["web_url"])
    for plot in plots:
        page.wait_for_function(f"() => ({PANEL_POINTS})({plot['id']}) === 30")
    first, second = (f".dashboard-plot[data-plot-id='{p['id']}']" for p in plots)
    page.evaluate(
        f"() => Plotly.relayout(document.querySelector(\"{first}\"), {{'xaxis.range': ['{x_of(5)}', '{x_of(10)}']}})"
    )
    start_of_second = f"String(document.querySelector(\"{second}\")._fullLayout.xaxis.range[0]).replace('T', ' ')"
    page.wait_for_function(f"() => {start_of_second}.startsWith('2026-01-01 00:00:05')")
    # A shared hover line: the mouse over one panel shows the same time on the other.
    point = page.evaluate(
        f"""() => {{
        const element = document.querySelector("{first}"), box = element.getBoundingClientRect();
        const {{ xaxis, yaxis }} = element._fullLayout;
        return [box.left + xaxis._offset + xaxis.d2p("{x_of(7)}"), box.top + yaxis._offset + yaxis.d2p(7)];
    }}"""
    )
    page.mouse.move(*point)
    hovered = f'document.querySelector("{first}")._hoverdata?.[0]?.x'
    page.wait_for_function(f'() => {hovered} && document.querySelector("{second}")._hoverdata?.[0]?.x === {hovered}')
    page.click("#dashboard-live")
    page.wait_for_function(
        f'() => ["{first}", "{second}"].every(s => document.querySelector(s)._fullLayout.xaxis.autorange === true)'
    )


def test_kiosk_mode_shows_only_the_panels(server, producer, page):
    plot = producer.make_plot([producer.make_token()])
    dashboard = producer.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": plot["id"]}]})
    page.goto(dashboard["web_url"] + "?kiosk=1")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    assert page.locator("header.bar").count() == 0
    assert page.locator(".dashboard-panel").count() == 1
