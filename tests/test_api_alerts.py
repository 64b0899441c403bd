"""/api/alerts/ in process: the owner makes, lists, reads and deletes alerts on their plots' traces;
the webhook secret is given once; another user can neither set one on a plot they do not own
(400, as for a plot that does not exist) nor read one (404); what the rules refuse is a 400
naming the field (docs/alerts.md)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def refused_fields(answer) -> list[str]:
    """The fields a 400 names (the API's refusal body: a message and its errors)."""
    return [error["field"].split(".")[0] for error in answer.json()["errors"]]


SILENT = {"trace": 0, "condition": "silence", "seconds": 30, "webhook": "https://hooks.example.com/alerts"}


@pytest.fixture(autouse=True)
def resolvable_example_hosts(settings):
    """hooks.example.com does not resolve here: the alerts' webhooks are listed by name."""
    settings.ALERT_WEBHOOK_HOSTS = ["hooks.example.com"]


def test_the_owner_makes_an_alert_and_gets_its_secret_once(as_alice, alices_plot):
    made = as_alice.post("/api/alerts/", {**SILENT, "plot": alices_plot.pk}, format="json")
    assert made.status_code == 201, made.json()
    alert = made.json()
    assert (alert["state"], alert["since"], alert["condition"], alert["seconds"]) == ("ok", None, "silence", 30)
    assert len(alert["webhook_secret"]) > 30
    again = as_alice.get(f"/api/alerts/{alert['id']}/").json()
    assert again["webhook_secret"] is None
    assert [a["id"] for a in as_alice.get("/api/alerts/").json()["results"]] == [alert["id"]]
    assert as_alice.delete(f"/api/alerts/{alert['id']}/").status_code == 204
    assert as_alice.get("/api/alerts/").json()["results"] == []


def test_another_user_can_neither_set_one_on_the_plot_nor_read_one(as_alice, as_bob, alices_plot):
    refused = as_bob.post("/api/alerts/", {**SILENT, "plot": alices_plot.pk}, format="json")
    assert refused.status_code == 400 and refused_fields(refused) == ["plot"]
    alert = as_alice.post("/api/alerts/", {**SILENT, "plot": alices_plot.pk}, format="json").json()
    assert as_bob.get(f"/api/alerts/{alert['id']}/").status_code == 404
    assert as_bob.delete(f"/api/alerts/{alert['id']}/").status_code == 404
    assert as_bob.get("/api/alerts/").json()["results"] == []


def test_an_anonymous_visitor_is_told_to_sign_in(anonymous):
    assert anonymous.get("/api/alerts/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trace": 5}, "trace"),
        ({"condition": "sideways"}, "condition"),
        ({"seconds": 0.1}, "seconds"),
        ({"condition": "above", "seconds": None}, "threshold"),
        ({"condition": "above", "threshold": 1, "for_seconds": -1}, "for_seconds"),
        ({"webhook": "http://127.0.0.1:8000/"}, "webhook"),
        ({"webhook": "http://169.254.169.254/latest/"}, "webhook"),
        ({"emails": ["not an address"]}, "emails"),
    ],
)
def test_a_wrong_field_is_a_400_naming_it(as_alice, alices_plot, change, field):
    refused = as_alice.post("/api/alerts/", {**SILENT, "plot": alices_plot.pk, **change}, format="json")
    assert refused.status_code == 400
    assert refused_fields(refused) == [field], refused.json()


def test_a_webhook_name_is_not_looked_up_when_the_alert_is_made(as_alice, alices_plot, settings):
    """No DNS on the request thread: a name is checked at each delivery (docs/alerts.md)."""
    settings.ALERT_WEBHOOK_HOSTS = []
    body = {**SILENT, "plot": alices_plot.pk, "webhook": "https://nowhere.invalid/hook"}
    assert as_alice.post("/api/alerts/", body, format="json").status_code == 201


def test_a_threshold_alert_keeps_its_threshold_and_no_seconds(as_alice, alices_plot):
    body = {"plot": alices_plot.pk, "trace": 0, "condition": "above", "threshold": 80, "for_seconds": 5, "seconds": 9}
    alert = as_alice.post("/api/alerts/", body, format="json").json()
    assert (alert["threshold"], alert["for_seconds"], alert["seconds"], alert["webhook"]) == (80, 5, None, "")
