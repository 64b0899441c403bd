from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"

    def ready(self) -> None:
        # The core says when a plot changed or a token was revoked; the live side tells viewers
        # and the stream's holder (the core imports nothing of it).
        from core.signals import plot_changed, token_plot_deleted, token_revoked
        from streaming.events import announce_plot_changed, announce_plot_deleted, announce_revoked

        plot_changed.connect(announce_plot_changed, dispatch_uid="streaming.announce_plot_changed")
        token_revoked.connect(announce_revoked, dispatch_uid="streaming.announce_revoked")
        token_plot_deleted.connect(announce_plot_deleted, dispatch_uid="streaming.announce_plot_deleted")
