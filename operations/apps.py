from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What operators and developers run plotserver with: health, readiness, metrics, runserver."""

    name = "operations"
