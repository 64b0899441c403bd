from django.apps import AppConfig


class LineprotoConfig(AppConfig):
    name = "lineproto"
    verbose_name = "InfluxDB line protocol"
    default_auto_field = "django.db.models.BigAutoField"
