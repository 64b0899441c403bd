"""Plots stored before older Plotly figure forms were upgraded on the way in (a string title,
`titlefont`, ...) are upgraded in place, so plotly.js draws their titles too. The rule is
core/figure_schema's; a layout or trace it leaves unchanged is not written."""

from django.db import migrations

from core.figure_schema import upgrade_layout, upgrade_trace


def upgrade_stored_figures(apps, schema_editor):
    Plot = apps.get_model("plots", "Plot")
    Trace = apps.get_model("plots", "Trace")
    for plot in Plot.objects.only("id", "layout").iterator(chunk_size=500):
        if isinstance(plot.layout, dict) and (layout := upgrade_layout(plot.layout)) != plot.layout:
            Plot.objects.filter(pk=plot.pk).update(layout=layout)
    for trace in Trace.objects.only("id", "spec").iterator(chunk_size=500):
        if isinstance(trace.spec, dict) and (spec := upgrade_trace(trace.spec)) != trace.spec:
            Trace.objects.filter(pk=trace.pk).update(spec=spec)


class Migration(migrations.Migration):
    dependencies = [("plots", "0009_api_key_hash_index")]

    operations = [migrations.RunPython(upgrade_stored_figures, migrations.RunPython.noop)]
