"""The owner sets an alert from the plot page, as a person would: the form makes it through
/api/alerts/ (a refused value is said beside its field), the webhook's secret is shown once, and
the alert's state turns `firing` on the page without a reload when its stream stays silent; My
plots' card says so too; the owner deletes it from the page (docs/alerts.md, "On the plot page").

On the session's shared server, whose alerts' timer (one process, a lease) checks silence."""

from __future__ import annotations

import pytest

from harness.producer import send_lines

pytestmark = pytest.mark.browser

# A deadline for a loaded machine (timer ticks, polls), never a bound on how fast it comes.
WAIT_MS = 30_000
# Never resolves: the deliveries fail (and are retried) without reaching anything.
WEBHOOK = "https://hooks.example.invalid/plots"


def test_the_owner_sets_a_silence_alert_from_the_page_and_sees_it_fire(member_page, server, member, artifacts):
    token = member.api.make_token()
    plot = member.api.make_plot([token], title="Watched")
    assert send_lines(server.port, token, [{"x": 1, "y": 2}]).status == 200  # then silent
    page = member_page
    page.goto(f"{server.url}/~{member.username}/{plot['id']}/")
    panel = page.locator("#alerts")
    assert panel.locator("#alerts-empty").is_visible()
    panel.locator("#alert-new summary").click()
    form = panel.locator("#alert-form")
    form.locator("select[name=condition]").select_option("silence")

    # Too short a silence: the API's own refusal, beside the field, and nothing made.
    form.locator("input[name=seconds]").fill("0.1")
    with page.expect_response(lambda r: r.url.endswith("/api/alerts/") and r.request.method == "POST") as refused:
        form.locator("button[type=submit]").click()
    assert refused.value.status == 400
    error = form.locator("[data-error-for=seconds]")
    error.wait_for(state="visible")
    assert "at least 0.5 seconds" in error.inner_text()
    page.js_errors[:] = [e for e in page.js_errors if not e.startswith("400 ")]  # refused on purpose

    form.locator("input[name=seconds]").fill("0.5")
    form.locator("input[name=webhook]").fill(WEBHOOK)
    with page.expect_response(lambda r: r.url.endswith("/api/alerts/") and r.request.method == "POST") as made:
        form.locator("button[type=submit]").click()
    assert made.value.status == 201
    alert = made.value.json()
    assert not error.is_visible()
    secret = page.locator("#alert-secret-value")
    secret.wait_for(state="visible")
    assert secret.input_value() == alert["webhook_secret"] and len(alert["webhook_secret"]) > 30

    row = panel.locator(f"tr[data-alert='{alert['id']}']")
    row.wait_for()
    assert row.locator(".alert-condition").inner_text() == "silent for 0.5 s"
    # The stream wrote once and stays silent: the timer fires the alert, the poll shows it.
    page.wait_for_selector(f"tr[data-alert='{alert['id']}'][data-state=firing]", timeout=WAIT_MS)
    assert row.locator(".alert-state").inner_text() == "firing"
    assert row.locator(".alert-since time").inner_text()
    assert row.locator(".alert-last-value").inner_text().endswith("s silent")
    page.screenshot(path=str(artifacts / "plot-page-alerts.png"), full_page=True)

    page.goto(f"{server.url}/plots/")
    badge = page.locator(f".card[data-plot='{plot['id']}'] .card-alerts")
    assert badge.inner_text() == "1 alert · 1 firing"

    page.goto(f"{server.url}/~{member.username}/{plot['id']}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-alert='{alert['id']}'] .alert-delete").click()
    page.locator(f"tr[data-alert='{alert['id']}']").wait_for(state="detached")
    assert page.locator("#alerts-empty").is_visible()
    assert member.api.ok("GET", f"/api/alerts/?plot={plot['id']}")["results"] == []
