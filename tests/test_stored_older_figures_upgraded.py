"""Plots stored before older Plotly figure forms were upgraded on the way in are upgraded by
`migrate`: a string title on the plot, an axis or a trace's colorbar becomes {"text": ...}, as
plotly.js 4 draws it (core/migrations/0010_upgrade_older_figure_forms.py)."""

from __future__ import annotations

import json

import pytest

from harness.live_server import manage

BEFORE = "0009_api_key_hash_index"

MAKE_OLD_PLOT = """
from django.contrib.auth import get_user_model
from core.models import Plot, Trace
owner = get_user_model().objects.create_user("older")
plot = Plot.objects.create(owner=owner, title="older", layout={
    "title": "Reactor temperature", "xaxis": {"title": "time (s)", "titlefont": {"size": 18}},
    "yaxis": {"title": {"text": "already new"}}})
Trace.objects.create(plot=plot, index=0, spec={
    "type": "heatmap", "z": [[1, 2]], "colorbar": {"title": "kelvin"}})
print(plot.pk)
"""

READ_PLOT = """
import json
from core.models import Plot
plot = Plot.objects.get(pk={pk})
print(json.dumps({{"layout": plot.layout, "trace": plot.traces.get().spec}}))
"""


@pytest.mark.long
def test_migrate_upgrades_the_titles_of_plots_stored_in_the_older_forms(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'older.sqlite3'}", "SECRET_KEY": "test"}
    manage("migrate", "--noinput", env=env)
    manage("migrate", "--noinput", "plots", BEFORE, env=env)  # a database of the release before
    pk = int(manage("shell", "--no-imports", "-c", MAKE_OLD_PLOT, env=env).strip())

    manage("migrate", "--noinput", env=env)

    stored = json.loads(manage("shell", "--no-imports", "-c", READ_PLOT.format(pk=pk), env=env))
    assert stored["layout"] == {
        "title": {"text": "Reactor temperature"},
        "xaxis": {"title": {"text": "time (s)", "font": {"size": 18}}},
        "yaxis": {"title": {"text": "already new"}},
    }
    assert stored["trace"] == {"type": "heatmap", "z": [[1, 2]], "colorbar": {"title": {"text": "kelvin"}}}
