from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The data core: every table and the rules about them, under everything else.

    Its label is "plots", the name the tables and the migration history had before the core was
    a package of its own (plots_plot, plots_streamtoken, ...), so no database changes with it."""

    name = "core"
    label = "plots"
    verbose_name = "Plots"
