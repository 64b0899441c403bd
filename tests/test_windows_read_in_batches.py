"""A plot's windows are read for many streams at once (core.models.windows.current_windows, a
few streams' rows a query): the windows are the same however the streams fall into reads, with
each stream's checkpoint at its own place."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model

from core.models import Plot, StreamToken, Trace
from core.models import windows as windows_module
from core.models.windows import current_windows
from tests.writers import commit_lines, open_writer

pytestmark = pytest.mark.django_db(transaction=True)


def test_windows_are_the_same_whatever_streams_share_a_read(monkeypatch):
    owner = get_user_model().objects.create_user(f"batches{uuid.uuid4().hex[:8]}")
    plot = Plot.objects.create(owner=owner)
    for index in range(5):
        token = StreamToken.objects.create(owner=owner)
        Trace.objects.create(plot=plot, index=index, spec={"x": [], "y": []}, stream_token=token)
        writer = open_writer(token)
        for n in range(index + 2):  # each stream its own number of commits
            # Each stream's checkpoint falls at its own place: after its first commit, or never.
            commit_lines(writer, f'{{"x": {n}, "y": {index * 10 + n}}}'.encode(), checkpoint=n == 0 and index % 2 == 0)

    def read() -> list[list[object]]:
        traces = list(Trace.objects.filter(plot=plot).select_related("plot", "checkpoint").order_by("index"))
        return [spec["y"] for spec in current_windows(traces)]

    expected = [[index * 10 + n for n in range(index + 2)] for index in range(5)]
    assert read() == expected
    for per_read in (1, 2, 3):
        monkeypatch.setattr(windows_module, "TOKENS_PER_READ", per_read)
        assert read() == expected
