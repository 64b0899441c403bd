from django.apps import AppConfig


class MqttConfig(AppConfig):
    """MQTT ingest: a token's topic's messages are lines of its stream (docs/ingest.md, "MQTT")."""

    name = "mqtt"
    verbose_name = "MQTT"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from core.models import StreamToken
        from mqtt.subscriber import broker_of, tokens_changed

        if settings.MQTT_URL:
            broker_of(settings.MQTT_URL)  # a wrong URL stops the start, with why

        def changed(**kwargs: object) -> None:
            tokens_changed()

        post_save.connect(changed, sender=StreamToken, dispatch_uid="mqtt.tokens_changed.save", weak=False)
        post_delete.connect(changed, sender=StreamToken, dispatch_uid="mqtt.tokens_changed.delete", weak=False)
