from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What operators and developers run plotserver with: health, readiness, metrics, runserver."""

    name = "operations"

    def ready(self) -> None:
        # Every process defines the metrics as it starts, so each worker reports from its first
        # moment (in multi-process mode: has its files), not from its first /metrics request;
        # the OpenAPI extensions register themselves on import.
        from base import metrics  # noqa: F401
        from operations import exposition, openapi  # noqa: F401
