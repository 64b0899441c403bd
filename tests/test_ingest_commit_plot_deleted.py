"""An ingest commit racing a plot's deletion (PostgreSQL, where the deletion holds the plot's row
until it commits): the commit waits for the plot's row lock, stores no annotation on the plot
that went, and stores the rest of its batch; never a foreign key refused at COMMIT."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.models import Annotation, Plot, StreamChunk, StreamToken, Trace
from core.protocol import parse_line
from harness.live_server import wait_for
from streaming.store import commit_chunks
from tests.writers import open_writer

WAIT = 30


def lock_waiters() -> int:
    """How many other sessions of this database wait on a row or table lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_commit_racing_a_plots_deletion_stores_its_batch_without_the_plots_annotation(alice):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs row locks held across sessions: PostgreSQL")
    plot = Plot.objects.create(owner=alice)
    token = StreamToken.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={"x": [], "y": []}, stream_token=token)
    kept = Plot.objects.create(owner=alice)
    Trace.objects.create(plot=kept, index=0, spec={"x": [], "y": []}, stream_token=token)
    writer = open_writer(token)
    writer.accept(parse_line(b'{"x": 1, "y": 1, "annotation": {"text": "valve open"}}'))
    now = timezone.now()
    chunk = writer.take_chunk(now)

    deleted, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def delete_plot() -> None:
        try:
            with transaction.atomic():
                Plot.objects.filter(pk=plot.pk).remove()
                deleted.set()
                release.wait(WAIT)  # held until the commit waits on it
        finally:
            connection.close()

    def commit() -> None:
        try:
            commit_chunks([chunk], now)
            outcome["stored"] = True
        except Exception as exc:  # what the test reports
            outcome["error"] = exc
        finally:
            connection.close()

    deleter = threading.Thread(target=delete_plot)
    deleter.start()
    try:
        assert deleted.wait(WAIT)
        committer = threading.Thread(target=commit)
        committer.start()
        wait_for(lambda: lock_waiters() > 0 or outcome, timeout=WAIT, message="the commit to meet the deletion")
    finally:
        release.set()
        deleter.join(WAIT)
    committer.join(WAIT)
    assert outcome == {"stored": True}
    assert list(Annotation.objects.values_list("plot_id", flat=True)) == [kept.pk]
    assert StreamChunk.objects.filter(token=token).exists()
