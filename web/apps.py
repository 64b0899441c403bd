from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web surface: the REST API, Plotly's API, the pages and the admin, on the core."""

    name = "web"
