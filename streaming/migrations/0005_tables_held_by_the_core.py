from django.db import migrations


class Migration(migrations.Migration):
    """StreamChunk and TraceCheckpoint are the core's models now (plots 0007); their tables stay."""

    dependencies = [("streaming", "0004_json_decoded_by_orjson")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StreamChunk"), migrations.DeleteModel(name="TraceCheckpoint")]
        )
    ]
