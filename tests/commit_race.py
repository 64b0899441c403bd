"""An ingest commit racing a plot's deletion, on PostgreSQL (where the deletion holds the plot's
row until it commits), run in a process of its own: `manage.py shell -c "...; race()"` with
DATABASE_URL naming a PostgreSQL database, whatever database the test run itself uses. Prints
what came of it as JSON (tests/test_ingest_commit_plot_deleted.py)."""

from __future__ import annotations

import json
import threading
import time
import uuid

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from core.models import Annotation, Plot, StreamChunk, StreamToken, Trace
from core.protocol import parse_line
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


def race() -> None:
    owner = get_user_model().objects.create_user(f"racer{uuid.uuid4().hex[:8]}")
    plot = Plot.objects.create(owner=owner)
    token = StreamToken.objects.create(owner=owner)
    Trace.objects.create(plot=plot, index=0, spec={"x": [], "y": []}, stream_token=token)
    kept = Plot.objects.create(owner=owner)
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
            outcome["error"] = repr(exc)
        finally:
            connection.close()

    deleter = threading.Thread(target=delete_plot)
    deleter.start()
    met = False
    try:
        assert deleted.wait(WAIT)
        committer = threading.Thread(target=commit)
        committer.start()
        deadline = time.monotonic() + WAIT
        while not (met := lock_waiters() > 0 or bool(outcome)) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        release.set()
        deleter.join(WAIT)
    committer.join(WAIT)
    print(
        json.dumps(
            {
                "met": met,
                "outcome": outcome,
                "annotated": list(Annotation.objects.filter(stream=token).values_list("plot_id", flat=True)),
                "kept": kept.pk,
                "chunk_stored": StreamChunk.objects.filter(token=token).exists(),
            }
        )
    )
