"""404, 403 and 500 are plotserver's own pages, with a way back, not Django's bare ones."""

import pytest
from django.test import RequestFactory
from django.views import defaults

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_a_branded_404_with_a_way_back(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "No such page" in page and 'class="brand"' in page and 'href="/"' in page


def test_a_private_plot_looks_like_a_missing_one(client, alice):
    from core.models import Plot

    plot = Plot.objects.create(owner=alice, sharing=Plot.PRIVATE)
    response = client.get(plot.get_absolute_url())
    assert response.status_code == 404 and "No such page" in response.content.decode()


def test_a_server_error_is_a_branded_500_even_without_a_request_context():
    response = defaults.server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page and 'class="brand"' in page and 'href="/"' in page


def test_a_refusal_is_a_branded_403(rf):
    from django.core.exceptions import PermissionDenied

    request = rf.get("/somewhere/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = defaults.permission_denied(request, PermissionDenied())
    page = response.content.decode()
    assert response.status_code == 403
    assert "Not allowed" in page and "/login/?next=/somewhere/" in page
