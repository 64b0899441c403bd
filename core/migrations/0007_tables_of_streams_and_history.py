import base.fastjson
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The streams' rows and checkpoints and the history's blocks, folds and runs become the
    core's models (the app labelled "plots"). Their tables stay as the streaming and history
    apps made them: this changes Django's picture of them, not the database."""

    dependencies = [
        ("plots", "0006_json_decoded_by_orjson"),
        ("streaming", "0005_tables_held_by_the_core"),
        ("history", "0004_tables_held_by_the_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="HistoryFold",
                    fields=[
                        (
                            "trace",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="+",
                                serialize=False,
                                to="plots.trace",
                            ),
                        ),
                        ("token_id", models.BigIntegerField()),
                        ("seq", models.BigIntegerField(default=0)),
                        ("removable", models.BigIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "history_historyfold",
                    },
                ),
                migrations.CreateModel(
                    name="TraceCheckpoint",
                    fields=[
                        (
                            "trace",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="checkpoint",
                                serialize=False,
                                to="plots.trace",
                            ),
                        ),
                        (
                            "token_id",
                            models.BigIntegerField(help_text="The stream whose sequence numbers `seq` counts."),
                        ),
                        ("seq", models.BigIntegerField()),
                        ("spec_hash", models.CharField(max_length=32)),
                        ("time", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "streaming_tracecheckpoint",
                    },
                ),
                migrations.CreateModel(
                    name="HistoryBlock",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "token_id",
                            models.BigIntegerField(help_text="The stream whose rows the block was folded from."),
                        ),
                        ("first_seq", models.BigIntegerField()),
                        ("last_seq", models.BigIntegerField(help_text="The newest stream row folded into the block.")),
                        (
                            "time",
                            models.DateTimeField(help_text="When the newest row folded into the block was written."),
                        ),
                        ("count", models.PositiveIntegerField()),
                        ("low_x", models.FloatField(null=True)),
                        ("high_x", models.FloatField(null=True)),
                        (
                            "x_dates",
                            models.BooleanField(help_text="Whether x are dates (null: no point has an x).", null=True),
                        ),
                        ("layout", models.JSONField(decoder=base.fastjson.FastJSONDecoder, default=list)),
                        ("x", models.BinaryField(null=True)),
                        ("y", models.BinaryField(null=True)),
                        (
                            "attributes",
                            models.JSONField(
                                decoder=base.fastjson.FastJSONDecoder,
                                help_text="Columns that are not packed, by path.",
                                null=True,
                            ),
                        ),
                        (
                            "trace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="plots.trace"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "history_historyblock",
                        "indexes": [
                            models.Index(fields=["trace", "last_seq"], name="history_his_trace_i_8083b8_idx"),
                            models.Index(fields=["trace", "low_x"], name="history_his_trace_i_59f91e_idx"),
                            models.Index(fields=["trace", "high_x"], name="history_his_trace_i_9ea2be_idx"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Run",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("number", models.PositiveIntegerField()),
                        ("first_seq", models.BigIntegerField()),
                        ("started", models.DateTimeField()),
                        ("name", models.CharField(blank=True, max_length=100)),
                        (
                            "token",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="runs", to="plots.streamtoken"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "history_run",
                        "ordering": ["token", "number"],
                        "constraints": [
                            models.UniqueConstraint(fields=("token", "number"), name="one_run_number_per_stream")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="StreamChunk",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("first_seq", models.BigIntegerField()),
                        ("last_seq", models.BigIntegerField()),
                        ("time", models.DateTimeField(help_text="When the commit that wrote the row began.")),
                        (
                            "plots",
                            models.JSONField(
                                decoder=base.fastjson.FastJSONDecoder,
                                encoder=base.fastjson.FastJSONEncoder,
                                help_text="The updates, by plot id.",
                            ),
                        ),
                        (
                            "values",
                            models.PositiveIntegerField(default=0, help_text="How many values the updates carry."),
                        ),
                        (
                            "token",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="plots.streamtoken"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "streaming_streamchunk",
                        "indexes": [
                            models.Index(fields=["token", "last_seq"], name="streaming_s_token_i_27bf6e_idx"),
                            models.Index(fields=["token", "time"], name="streaming_s_token_i_4dd1ba_idx"),
                        ],
                    },
                ),
            ]
        )
    ]
