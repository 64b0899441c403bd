"""A plot's `retention` in the REST API, the edit page and the admin: "window" unless the server
default says otherwise, one spelling per rule, and a 400 that says what is allowed."""

from __future__ import annotations

import pytest

from core.models import Plot

pytestmark = pytest.mark.django_db


def make_plot(client, **fields):
    return client.post("/api/plots/", {"title": "t", **fields}, format="json")


def test_a_new_plot_keeps_its_window_unless_told_otherwise(as_alice):
    assert make_plot(as_alice).json()["retention"] == "window"


def test_the_server_default_applies_to_new_plots(as_alice, settings):
    settings.PLOT_RETENTION_DEFAULT = "30d"
    assert make_plot(as_alice).json()["retention"] == "30d"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("window", "window"),
        ("Forever", "forever"),
        ("7d", "7d"),
        ("12 h", "12h"),
        ("48h", "2d"),
        ("2w", "14d"),
        ("90m", "90m"),
        ("100,000,000 points", "100000000 points"),
        ("1 point", "1 point"),
    ],
)
def test_each_rule_is_stored_in_one_spelling(as_alice, sent, stored):
    plot = make_plot(as_alice).json()
    answer = as_alice.patch(f"/api/plots/{plot['id']}/", {"retention": sent}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["retention"] == stored
    assert Plot.objects.get(pk=plot["id"]).retention == stored


@pytest.mark.parametrize("sent", ["", "7", "7 days", "0d", "-1d", "0 points", "36501d", "a week", 7, None])
def test_anything_else_is_400_saying_what_is_allowed(as_alice, sent):
    answer = make_plot(as_alice, retention=sent)
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["field"] == "retention"
    assert not Plot.objects.exists()


def test_the_400_names_the_accepted_forms(as_alice):
    message = make_plot(as_alice, retention="a week").json()["message"]
    assert '"window"' in message and '"7d"' in message and '"forever"' in message and "points" in message


def test_only_the_owner_changes_it(as_alice, as_bob):
    plot = make_plot(as_alice).json()
    assert as_bob.patch(f"/api/plots/{plot['id']}/", {"retention": "forever"}, format="json").status_code in (403, 404)
    assert Plot.objects.get(pk=plot["id"]).retention == "window"


def test_the_edit_page_shows_and_saves_it(client, alice):
    client.force_login(alice)
    plot = Plot.objects.create(owner=alice, title="t", retention="7d")
    page = client.get(f"/~alice/{plot.pk}/edit/")
    assert 'name="plot-retention"' in page.content.decode() and 'value="7d"' in page.content.decode()
    form = {
        "plot-title": "t",
        "plot-sharing": "public",
        "plot-retention": "30 D",
        "plot-layout": "{}",
        "traces-TOTAL_FORMS": "0",
        "traces-INITIAL_FORMS": "0",
    }
    assert client.post(f"/~alice/{plot.pk}/edit/", form).status_code == 302
    assert Plot.objects.get(pk=plot.pk).retention == "30d"
    refused = client.post(f"/~alice/{plot.pk}/edit/", {**form, "plot-retention": "soon"})
    assert refused.status_code == 200 and "Not a retention" in refused.content.decode()
    assert Plot.objects.get(pk=plot.pk).retention == "30d"
    without = {key: value for key, value in form.items() if key != "plot-retention"}
    assert client.post(f"/~alice/{plot.pk}/edit/", without).status_code == 302
    assert Plot.objects.get(pk=plot.pk).retention == "30d"  # a form without the field keeps it


def test_the_admin_edits_it_with_the_same_rule(client, django_user_model, alice):
    operator = django_user_model.objects.create_superuser("operator", password="operator-password")
    client.force_login(operator)
    plot = Plot.objects.create(owner=alice, title="t")
    page = client.get(f"/admin/plots/plot/{plot.pk}/change/").content.decode()
    assert 'name="retention"' in page
