"""The dashboard page in headless Chromium: several panels move live over one socket; the owner
moves, removes and adds panels; date axes are linked; panels are drawn in turn within a frame's
budget, those out of view when they are scrolled to; kiosk mode shows only the panels."""

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


def test_under_a_spent_budget_every_panel_is_drawn_in_turn_and_ends_with_its_whole_window(server, producer, page):
    # No time at all a frame: one panel a frame, in turn.
    page.add_init_script("window.plotserverFrameOptions = {budgetMs: 0}")
    tokens = [producer.make_token() for _ in range(4)]
    plots = [producer.make_plot([t], maxpoints=20) for t in tokens]
    panels = [{"plot": p["id"], "w": 3, "h": 3} for p in plots]  # one row, all in view
    dashboard = producer.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": panels})
    page.goto(dashboard["web_url"])
    drawn = "(id) => document.querySelector(`.dashboard-plot[data-plot-id='${id}']`).data?.[0]?.x"
    held = "(id) => window.plotserverDashboard.viewers().get(id)[0].figure()?.data[0].x"
    ids = [p["id"] for p in plots]
    page.wait_for_function(f"() => {ids}.every((id) => ({drawn})(id))")
    # Hold the frames while every panel has work waiting, as a busy page would.
    page.evaluate(
        "() => { window.__held = []; window.__raf = window.requestAnimationFrame;"
        " window.requestAnimationFrame = (callback) => window.__held.push(callback); }"
    )
    streams = [RawStream(server.port, t).open() for t in tokens]
    for i in range(50):
        for stream in streams:
            stream.write({"x": i, "y": i})
    page.wait_for_function(f"() => {ids}.every((id) => ({held})(id).at(-1) === 49)")
    waiting = page.evaluate(f"() => {ids}.filter((id) => ({drawn})(id).at(-1) !== 49).length")
    deferred = page.evaluate("() => window.plotserverFrames.stats.deferred")
    page.evaluate("() => { window.requestAnimationFrame = window.__raf; window.__held.forEach((f) => __raf(f)); }")
    page.wait_for_function(f"() => {ids}.every((id) => ({drawn})(id).at(-1) === 49)")
    for plot_id in ids:
        assert page.evaluate(f"() => ({drawn})({plot_id})") == list(range(30, 50))
    # One panel a frame: every frame but the last left the others for the next.
    assert waiting >= 2
    assert page.evaluate("() => window.plotserverFrames.stats.deferred") - deferred == waiting - 1
    for stream in streams:
        assert stream.end().status == 200


def test_a_panel_out_of_view_is_drawn_when_it_is_scrolled_to(server, producer, page):
    tokens = [producer.make_token() for _ in range(2)]
    plots = [producer.make_plot([t]) for t in tokens]
    panels = [{"plot": plots[0]["id"], "x": 0, "y": 0}, {"plot": plots[1]["id"], "x": 0, "y": 40}]
    dashboard = producer.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": panels})
    page.goto(dashboard["web_url"])
    first, second = (f"document.querySelector(\".dashboard-plot[data-plot-id='{p['id']}']\")" for p in plots)
    # Both are drawn once (the figure, empty), whether in view or not.
    page.wait_for_function(f"() => {first}.data && {second}.data")
    streams = [RawStream(server.port, t).open() for t in tokens]
    for i in range(10):
        for stream in streams:
            stream.write({"x": i, "y": i})
    held = f"window.plotserverDashboard.viewers().get({plots[1]['id']})[0].figure().data[0].x.length"
    page.wait_for_function(f"() => {first}.data[0].x.length === 10 && {held} === 10")
    assert page.evaluate(f"() => {second}.data[0].x.length") == 0
    page.locator(f".dashboard-panel[data-plot-id='{plots[1]['id']}']").scroll_into_view_if_needed()
    page.wait_for_function(f"() => {second}.data[0].x.length === 10")
    for stream in streams:
        assert stream.end().status == 200


def test_kiosk_mode_shows_only_the_panels(server, producer, page):
    plot = producer.make_plot([producer.make_token()])
    dashboard = producer.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": plot["id"]}]})
    page.goto(dashboard["web_url"] + "?kiosk=1")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    assert page.locator("header.bar").count() == 0
    assert page.locator(".dashboard-panel").count() == 1
