import django.db.models
from django.db import migrations

import core.retention


class Migration(migrations.Migration):
    """Plots made before retention existed keep today's behaviour, "window"; new ones get
    PLOT_RETENTION_DEFAULT."""

    dependencies = [("plots", "0004_streamtoken_lease_until")]

    operations = [
        migrations.AddField(
            model_name="plot",
            name="retention",
            field=django.db.models.CharField(default="window", max_length=40),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="plot",
            name="retention",
            field=django.db.models.CharField(
                default=core.retention.server_default,
                help_text=f"What is kept of the streamed points (docs/history.md): {core.retention.HELP}",
                max_length=40,
                validators=[core.retention.validate_retention],
            ),
        ),
    ]
