from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"

    def ready(self) -> None:
        # The core says when a plot or an annotation changed or a token was revoked; the live side
        # tells viewers and the stream's holder (the core imports nothing of it).
        from core.signals import annotation_changed, plot_changed, token_plot_deleted, token_revoked
        from streaming.events import announce_annotation, announce_plot_changed, announce_plot_deleted, announce_revoked

        plot_changed.connect(announce_plot_changed, dispatch_uid="streaming.announce_plot_changed")
        token_revoked.connect(announce_revoked, dispatch_uid="streaming.announce_revoked")
        token_plot_deleted.connect(announce_plot_deleted, dispatch_uid="streaming.announce_plot_deleted")
        annotation_changed.connect(announce_annotation, dispatch_uid="streaming.announce_annotation")
