"""The pipeline's group commit: a value the database refuses costs that line, not the batch."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.models import Plot, StreamToken, Trace
from core.models.windows import traces_with_windows
from core.protocol import Update
from streaming.pipeline import Pipeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def streams(alice):
    plot = Plot.objects.create(owner=alice)
    tokens = [StreamToken.objects.create(owner=alice) for _ in range(2)]
    for index, token in enumerate(tokens):
        Trace.objects.create(plot=plot, index=index, spec={"x": []}, stream_token=token)
    return plot, tokens


def stored_windows(plot) -> dict:
    return {t.stream_token_id: t.spec["x"] for t in traces_with_windows(Trace.objects.filter(plot=plot))}


async def test_a_value_the_database_refuses_is_rejected_alone(streams):
    plot, (first, second) = streams
    pipeline = Pipeline()
    await pipeline.start()
    try:
        one, two = await pipeline.open_writer(first.pk), await pipeline.open_writer(second.pk)
        pipeline.submit(one, Update(trace={"x": 1}))
        # Not something parse_line lets through (a lone surrogate); the pipeline must cope all the same.
        pipeline.submit(one, Update(trace={"x": "\ud800"}))
        pipeline.submit(one, Update(trace={"x": 3}))
        committed = pipeline.submit(two, Update(trace={"x": 10}))
        await committed
    finally:
        await pipeline.shutdown()

    assert await sync_to_async(stored_windows)(plot) == {first.pk: [1, 3], second.pk: [10]}
    await first.arefresh_from_db()
    assert (first.accepted, first.rejected, first.last_error) == (2, 1, "the database could not store this line")
    await sync_to_async(connections.close_all)()  # this thread's connection would hold the test database


async def test_a_batch_that_fails_for_its_content_is_split_never_retried_as_an_outage(streams):
    plot, (first, second) = streams
    deep: list = [1]
    for _ in range(100_000):  # no JSON encoder gets through this: an encoding error, not a database error
        deep = [deep]
    pipeline = Pipeline()
    await pipeline.start()
    try:
        one, two = await pipeline.open_writer(first.pk), await pipeline.open_writer(second.pk)
        pipeline.submit(one, Update(trace={"x": 1}))
        pipeline.submit(one, Update(trace={"customdata": deep}))
        committed = pipeline.submit(two, Update(trace={"x": 10}))
        await asyncio.wait_for(committed, 30)  # a retry loop would never get here
    finally:
        await pipeline.shutdown()

    assert await sync_to_async(stored_windows)(plot) == {first.pk: [1], second.pk: [10]}
    await first.arefresh_from_db()
    assert (first.accepted, first.rejected) == (1, 1)  # the refused update counts as rejected
    await sync_to_async(connections.close_all)()
