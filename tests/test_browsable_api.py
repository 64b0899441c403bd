"""/api/ in a browser: DRF's browsable pages for a logged-in session and for anonymous visitors
(no Basic-auth popup), links that lead to the API and not to the pages, JSON for API clients."""

import pytest

from core.models import Plot

pytestmark = pytest.mark.django_db

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_the_api_root_links_plots_to_the_api_not_the_home_page(client, alice):
    client.force_login(alice)
    links = client.get("/api/", HTTP_ACCEPT="application/json").json()
    assert links == {"streams": "http://testserver/api/streams/", "plots": "http://testserver/api/plots/"}


def test_a_logged_in_browser_gets_the_browsable_api(client, alice):
    client.force_login(alice)
    Plot.objects.create(owner=alice, title="mine")
    response = client.get("/api/plots/", HTTP_ACCEPT=HTML)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "mine" in response.content.decode()


def test_an_anonymous_browser_is_sent_to_log_in_and_back_not_a_popup(client):
    response = client.get("/api/plots/?page=2", HTTP_ACCEPT=HTML)
    assert response.status_code == 302
    assert "WWW-Authenticate" not in response
    assert response["Location"] == "/login/?next=%2Fapi%2Fplots%2F%3Fpage%3D2"


def test_an_api_client_without_credentials_still_gets_401_with_basic(client):
    response = client.get("/api/plots/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response["Content-Type"] == "application/json"


def test_curl_gets_json_by_default(client):
    response = client.get("/api/plots/", HTTP_ACCEPT="*/*")
    assert response["Content-Type"] == "application/json"


def test_a_post_without_the_trailing_slash_creates_the_plot(as_alice):
    response = as_alice.post("/api/plots", {"title": "no slash"}, format="json")
    assert response.status_code == 201
    assert Plot.objects.get().title == "no slash"


def test_the_pages_and_the_browsable_api_link_to_the_api_reference(client, alice):
    assert 'href="/api/docs/"' in client.get("/").content.decode()
    client.force_login(alice)
    page = client.get("/api/plots/", HTTP_ACCEPT=HTML).content.decode()
    for link in ('href="/api/docs/"', 'href="/api/redoc/"', 'href="/api/schema/"'):
        assert link in page
