"""The migrations describe the models as they are: `makemigrations` finds nothing to do for any
app (a model changed without its migration would be changed differently on every deployment)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_makemigrations_finds_nothing_to_do():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit:
        pytest.fail(f"models and migrations differ (exit {exit.code}):\n{out.getvalue()}")
