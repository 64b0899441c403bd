"""The plot page shows its owner the plot's alerts (a panel its script fills from
`/api/alerts/?plot=<id>` and whose form posts there); another user, or an anonymous visitor,
sees neither the panel nor the alerts, and can make none (docs/alerts.md, "On the plot page")."""

from __future__ import annotations

import pytest

from alerts.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def resolvable_example_hosts(settings):
    settings.ALERT_WEBHOOK_HOSTS = ["hooks.example.com"]


@pytest.fixture
def alices_alert(alice, alices_plot):
    return Alert.objects.create(owner=alice, plot=alices_plot, trace=0, condition="above", threshold=80)


def page_of(client, plot):
    return client.get(f"/~{plot.owner.username}/{plot.pk}/")


def test_the_owner_sees_the_alerts_panel_with_a_form_for_each_trace(client, alice, alices_plot):
    client.force_login(alice)
    html = page_of(client, alices_plot).content.decode()
    assert 'id="alerts"' in html and 'data-api-url="/api/alerts/"' in html
    assert f'data-plot="{alices_plot.pk}"' in html
    assert '<option value="0">Trace 0</option>' in html
    assert "alerts/alerts.js" in html


def test_another_user_and_a_visitor_see_no_alerts_panel(client, bob, alices_plot, alices_alert):
    for visitor in (None, bob):
        if visitor is not None:
            client.force_login(visitor)
        page = page_of(client, alices_plot)
        assert page.status_code == 200  # the plot is public
        html = page.content.decode()
        assert 'id="alerts"' not in html and "alerts/alerts.js" not in html and "api/alerts" not in html


def test_the_page_reads_only_this_plots_alerts(as_alice, alice, alices_plot, alices_alert):
    other_plot = type(alices_plot).objects.create(owner=alice)
    other_plot.traces.create(index=0, spec={"x": [], "y": []})
    Alert.objects.create(owner=alice, plot=other_plot, trace=0, condition="below", threshold=1)
    page = as_alice.get(f"/api/alerts/?plot={alices_plot.pk}").json()
    assert [a["id"] for a in page["results"]] == [alices_alert.pk]
    assert page["results"][0]["state"] == "ok"
    assert as_alice.get("/api/alerts/").json()["count"] == 2


def test_another_user_reads_nothing_of_the_plots_alerts_and_makes_none(as_bob, alices_plot, alices_alert):
    assert as_bob.get(f"/api/alerts/?plot={alices_plot.pk}").json()["results"] == []
    made = as_bob.post(
        "/api/alerts/", {"plot": alices_plot.pk, "trace": 0, "condition": "silence", "seconds": 30}, format="json"
    )
    assert made.status_code == 400 and made.json()["errors"][0]["field"] == "plot"
    assert Alert.objects.filter(plot=alices_plot).count() == 1


@pytest.mark.parametrize("plot", ["seven", "²", "٣"])
def test_a_plot_that_is_not_a_number_is_refused_by_name(as_alice, plot):
    refused = as_alice.get("/api/alerts/", {"plot": plot})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "plot"
