"""The REST API's OpenAPI 3 schema, and its Swagger UI and Redoc pages served from plotserver itself."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3_describing_the_rest_api(anonymous):
    response = anonymous.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on anything OpenAPI 3 forbids
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/plots/",
        "/api/plots/{id}/",
        "/api/plots/{id}/figure/",
        "/api/plots/{plot_pk}/traces/",
        "/api/plots/{plot_pk}/traces/{index}/",
        "/api/plots/{plot_pk}/traces/{index}/points/",
        "/api/plots/{plot_pk}/runs/",
        "/api/plots/{plot_pk}/annotations/",
        "/api/plots/{plot_pk}/annotations/{id}/",
        "/api/plots/{plot_pk}/bucket/",
        "/api/plots/{id}/share_key/",
        "/api/streams/",
        "/api/streams/{id}/",
        "/api/streams/{id}/runs/",
        "/api/v2/write",
        "/write",
        "/api/alerts/",
        "/api/alerts/{id}/",
        "/api/dashboards/",
        "/api/dashboards/{id}/",
        "/api/dashboards/{id}/share_key/",
    }
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "basic",
        "description": "Username and API key (from the settings page or `manage.py apikey USERNAME`).",
    }
    assert schema["components"]["securitySchemes"]["bearerKey"]["scheme"] == "bearer"


def test_the_schema_is_also_served_as_yaml(anonymous):
    response = anonymous.get("/api/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_documentation_pages_load_their_scripts_from_this_server(anonymous, page):
    response = anonymous.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r"""<script[^>]+src=["']([^"']+)""", html) + re.findall(r"""href=["']([^"']+\.css)""", html)
    assert sources, html
    for source in sources:
        assert source.startswith("/") and not source.startswith("//"), f"{source} is not served by plotserver"
        assert anonymous.get(source).status_code == 200
    assert "//" not in "".join(re.findall(r"""(?:src|href)=["']([^"']+)""", html)), "a link to another origin"
