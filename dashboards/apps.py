from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Plotly's /v2/files/lookup (web) finds dashboards through the core's registry.
        from core.plotly_files import register_lookup
        from dashboards.plotly_api import dashboard_file_at

        register_lookup(dashboard_file_at)
