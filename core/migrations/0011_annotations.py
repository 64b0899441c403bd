"""Annotations of plots (core/models/annotations.py): events and spans with a text, kept beside
the plot's layout, not in it."""

import base.fastjson
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('plots', '0010_upgrade_older_figure_forms'),
    ]

    operations = [
        migrations.CreateModel(
            name='Annotation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('x', models.JSONField(decoder=base.fastjson.FastJSONDecoder, encoder=base.fastjson.FastJSONEncoder, help_text='Where: a number or a date.')),
                ('x_end', models.JSONField(blank=True, decoder=base.fastjson.FastJSONDecoder, encoder=base.fastjson.FastJSONEncoder, help_text="A span's end; null: an event.", null=True)),
                ('text', models.TextField()),
                ('trace', models.PositiveIntegerField(blank=True, help_text='The index of the trace it is about, if one.', null=True)),
                ('color', models.CharField(blank=True, max_length=64)),
                ('seq', models.BigIntegerField(blank=True, help_text='The sequence number of that line.', null=True)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('plot', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='annotations', to='plots.plot')),
                ('stream', models.ForeignKey(blank=True, help_text='The stream whose line made it, if one.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='plots.streamtoken')),
            ],
            options={
                'ordering': ['plot', 'pk'],
                'indexes': [models.Index(fields=['plot', 'created'], name='plots_annot_plot_id_6b76d5_idx')],
            },
        ),
    ]
