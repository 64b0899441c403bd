from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts on a plot's trace: silence, above, below (docs/alerts.md)."""

    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Thresholds are evaluated once per batch the stream's holder commits; the live side
        # calls the watcher it is given and imports nothing of alerts.
        from django.db.models.signals import post_delete, post_save

        from alerts.evaluation import EVALUATOR
        from alerts.models import Alert
        from core.owner_summaries import register_owner_summary
        from streaming.batch_watchers import watch_batches

        watch_batches("alerts", EVALUATOR.observe)
        # The owner's cards (web) say how many alerts a plot has and whether one fires.
        register_owner_summary("alerts", Alert.summaries)

        def rules_changed(**kwargs: object) -> None:
            EVALUATOR.stale = True

        post_save.connect(rules_changed, sender=Alert, dispatch_uid="alerts.rules_changed.save", weak=False)
        post_delete.connect(rules_changed, sender=Alert, dispatch_uid="alerts.rules_changed.delete", weak=False)
