from django.db import migrations


class Migration(migrations.Migration):
    """HistoryBlock, HistoryFold and Run are the core's models now (plots 0007); their tables stay."""

    dependencies = [("history", "0003_json_decoded_by_orjson")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="HistoryBlock"),
                migrations.DeleteModel(name="HistoryFold"),
                migrations.DeleteModel(name="Run"),
            ]
        )
    ]
