"""The hub's group commit: a value the database refuses costs that line, not the batch."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from plots.models import Plot, StreamToken, Trace
from streaming.hub import StreamHub
from streaming.protocol import Update

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def streams(alice):
    plot = Plot.objects.create(owner=alice)
    tokens = [StreamToken.objects.create(owner=alice) for _ in range(2)]
    for index, token in enumerate(tokens):
        Trace.objects.create(plot=plot, index=index, spec={"x": []}, stream_token=token)
    return plot, tokens


async def test_a_value_the_database_refuses_is_rejected_alone(streams):
    plot, (first, second) = streams
    hub = StreamHub()
    await hub.start()
    try:
        hub.submit(first.pk, Update(trace={"x": 1}))
        # Not something parse_line lets through any more; the hub must cope all the same.
        hub.submit(first.pk, Update(trace={"x": float("inf")}))
        hub.submit(first.pk, Update(trace={"x": 3}))
        committed = hub.submit(second.pk, Update(trace={"x": 10}))
        await committed
    finally:
        await hub.shutdown()

    stored = await sync_to_async(lambda: {t.stream_token_id: t.spec["x"] for t in Trace.objects.filter(plot=plot)})()
    assert stored == {first.pk: [1, 3], second.pk: [10]}
    await first.arefresh_from_db()
    assert (first.accepted, first.rejected, first.last_error) == (2, 1, "the database could not store this line")
    await sync_to_async(connections.close_all)()  # this thread's connection would hold the test database


async def test_a_batch_that_fails_for_its_content_is_split_never_retried_as_an_outage(streams):
    plot, (first, second) = streams
    deep: list = [1]
    for _ in range(100_000):  # no JSON encoder gets through this: RecursionError, not a database error
        deep = [deep]
    hub = StreamHub()
    await hub.start()
    try:
        hub.submit(first.pk, Update(trace={"x": 1}))
        hub.submit(first.pk, Update(trace={"customdata": deep}))
        committed = hub.submit(second.pk, Update(trace={"x": 10}))
        await asyncio.wait_for(committed, 30)  # a retry loop would never get here
    finally:
        await hub.shutdown()

    stored = await sync_to_async(lambda: {t.stream_token_id: t.spec["x"] for t in Trace.objects.filter(plot=plot)})()
    assert stored == {first.pk: [1], second.pk: [10]}
    await first.arefresh_from_db()
    assert (first.accepted, first.rejected) == (1, 1)  # the refused update counts as rejected
    await sync_to_async(connections.close_all)()
