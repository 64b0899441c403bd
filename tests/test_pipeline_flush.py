"""The pipeline's flush waits for everything submitted before it, also what the commit loop
has already taken into a commit that is still running."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.models import Plot, StreamToken, Trace
from core.protocol import Update
from streaming.pipeline import Pipeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(alice):
    plot = Plot.objects.create(owner=alice)
    token = StreamToken.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={"x": []}, stream_token=token)
    return token


async def test_flush_returns_once_the_commit_that_took_its_updates_has_ended(token):
    pipeline = Pipeline()
    await pipeline.start()
    try:
        writer = await pipeline.open_writer(token.pk)
        # Hold the commits' thread, so that the first commit waits while more is submitted.
        release = threading.Event()
        held = asyncio.ensure_future(pipeline.committer.run_sync(release.wait, 30))
        first = pipeline.submit(writer, Update(trace={"x": 1}))
        async with asyncio.timeout(30):  # the commit loop takes it (its backlog emptied), and waits for the thread
            while pipeline.committer.backlog:
                await asyncio.sleep(0)
        pipeline.submit(writer, Update(trace={"x": 2}))  # for the next commit
        flushed = asyncio.ensure_future(pipeline.flush())
        release.set()
        await held
        await first
        # The commit loop took the second update as the first commit ended, before flush
        # looked again: flush must still wait for it.
        await asyncio.wait_for(flushed, 30)
        assert writer.committed_seq == writer.seq == 2
    finally:
        await pipeline.shutdown()
        await sync_to_async(connections.close_all)()
