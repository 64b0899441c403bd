"""Plotly's /v2/dashboards in process: who may read and write, paging and `deleted`, a box
naming another user's private plot, and dashboards found by /v2/files/lookup."""

from __future__ import annotations

import json

import pytest

from core.models import Plot
from dashboards import plotly_api
from dashboards.models import Dashboard

pytestmark = pytest.mark.django_db


def content(*plot_ids: int) -> str:
    layout = None
    for n in plot_ids:
        owner = Plot.objects.filter(pk=n).values_list("owner__username", flat=True).first()
        box = {"type": "box", "boxType": "plot", "fileId": f"{owner}:{n}", "title": ""}
        layout = (
            box
            if layout is None
            else {
                "type": "split",
                "direction": "horizontal",
                "size": 50,
                "sizeUnit": "%",
                "first": layout,
                "second": box,
            }
        )
    return json.dumps({"layout": layout, "settings": {}, "version": 2})


def test_an_uploaded_dashboard_is_listed_retrieved_as_sent_and_found_by_its_path(as_alice, alice):
    plot = Plot.objects.create(owner=alice)
    sent = content(plot.pk)
    made = as_alice.post(
        "/v2/dashboards", {"content": sent, "filename": "lab/Rig", "world_readable": True}, format="json"
    )
    assert made.status_code == 201
    assert made.json()["filetype"] == "dashboard" and made.json()["parent_path"] == "lab"
    fid = made.json()["fid"]
    assert json.loads(as_alice.get(f"/v2/dashboards/{fid}").json()["content"]) == json.loads(sent)
    assert [d["fid"] for d in as_alice.get("/v2/dashboards").json()["results"]] == [fid]
    assert as_alice.get("/v2/dashboards?deleted=true").json()["results"] == []
    found = as_alice.get("/v2/files/lookup?path=lab/Rig").json()
    assert (found["fid"], found["filetype"]) == (fid, "dashboard")


def test_the_list_is_paged(as_alice, alice, monkeypatch):
    monkeypatch.setattr(plotly_api, "PAGE_SIZE", 2)
    for n in range(3):
        Dashboard.objects.create(owner=alice, title=f"d{n}")
    first = as_alice.get("/v2/dashboards").json()
    assert len(first["results"]) == 2 and first["next"].endswith("?page=2")
    second = as_alice.get(first["next"]).json()
    assert [d["filename"] for d in second["results"]] == ["d2"] and second["next"] is None


def test_a_box_naming_another_users_private_plot_is_refused(as_alice, bob):
    theirs = Plot.objects.create(owner=bob, sharing=Plot.PRIVATE)
    answer = as_alice.post("/v2/dashboards", {"content": content(theirs.pk), "filename": "x"}, format="json")
    assert answer.status_code == 400 and f"box 1: no plot {theirs.pk}" in json.dumps(answer.json())


def test_a_box_naming_a_plot_under_another_owner_is_refused(as_alice, alice, bob):
    theirs = Plot.objects.create(owner=bob, sharing=Plot.PUBLIC)
    box = {"type": "box", "boxType": "plot", "fileId": f"{alice.username}:{theirs.pk}", "title": ""}
    sent = json.dumps({"layout": box, "settings": {}, "version": 2})
    answer = as_alice.post("/v2/dashboards", {"content": sent, "filename": "x"}, format="json")
    assert answer.status_code == 400 and f"box 1: no plot {theirs.pk} of alice's" in json.dumps(answer.json())


def test_only_the_owner_changes_a_dashboard_and_only_those_it_is_shared_with_read_it(as_alice, as_bob, alice):
    private = Dashboard.objects.create(owner=alice, title="p")
    public = Dashboard.objects.create(owner=alice, title="q", sharing=Dashboard.PUBLIC)
    assert as_bob.get(f"/v2/dashboards/alice:d{private.pk}").status_code == 404
    assert as_bob.get(f"/v2/dashboards/alice:d{public.pk}").status_code == 200
    answer = as_bob.put(f"/v2/dashboards/alice:d{public.pk}", {"content": content()}, format="json")
    assert answer.status_code == 403


def test_a_dashboard_uploaded_without_world_readable_is_private(as_alice, as_bob, alice):
    plot = Plot.objects.create(owner=alice)
    made = as_alice.post("/v2/dashboards", {"content": content(plot.pk), "filename": "quiet"}, format="json")
    assert made.status_code == 201 and made.json()["world_readable"] is False
    assert Dashboard.objects.get(title="quiet").sharing == Dashboard.PRIVATE
    assert as_bob.get(f"/v2/dashboards/{made.json()['fid']}").status_code == 404


def test_a_dashboards_file_is_made_secret_by_its_owner_and_its_address_leads_to_its_page(
    as_alice, as_bob, alice, client
):
    """chart_studio's upload(..., sharing="secret"): it reads the fid back from web_url, then
    PATCHes /v2/files/<fid> with share_key_enabled and adds the key it is answered to web_url."""
    plot = Plot.objects.create(owner=alice)
    made = as_alice.post("/v2/dashboards", {"content": content(plot.pk), "filename": "rig"}, format="json").json()
    dashboard = Dashboard.objects.get(title="rig")
    assert made["fid"] == f"alice:d{dashboard.pk}"
    assert made["web_url"].endswith(f"/~alice/d{dashboard.pk}/")  # chart_studio: username, then the local id
    body = {"share_key_enabled": True, "world_readable": False}
    assert as_bob.patch(f"/v2/files/{made['fid']}", body, format="json").status_code == 404  # private: unseen
    answer = as_alice.patch(f"/v2/files/{made['fid']}", body, format="json")
    assert answer.status_code == 200
    dashboard.refresh_from_db()
    assert dashboard.sharing == Dashboard.SECRET
    assert (answer.json()["share_key_enabled"], answer.json()["share_key"]) == (True, dashboard.share_key)
    assert as_alice.get(f"/v2/files/{made['fid']}").json()["share_key_enabled"] is True

    link = f"/~alice/d{dashboard.pk}/?share_key={dashboard.share_key}"
    page = client.get(link)  # anonymous
    assert page.status_code == 302
    assert page["Location"] == f"{dashboard.get_absolute_url()}?share_key={dashboard.share_key}"
    assert client.get(page["Location"]).status_code == 200
    assert client.get(dashboard.get_absolute_url()).status_code == 404  # without the key
    # Another user with the link may read, not change.
    assert as_bob.get(f"/v2/files/{made['fid']}?share_key={dashboard.share_key}").status_code == 200
    refused = as_bob.patch(f"/v2/files/{made['fid']}?share_key={dashboard.share_key}", body, format="json")
    assert refused.status_code == 403


def test_a_plots_fid_is_not_a_dashboards(as_alice, alice):
    plot = Plot.objects.create(owner=alice)
    assert as_alice.get(f"/v2/dashboards/alice:{plot.pk}").status_code == 404
    assert as_alice.get(f"/v2/files/alice:{plot.pk}").status_code == 404
