"""Runs started live, in process: a `{"run": ...}` line in a stream and POST
/api/streams/<id>/runs/ both go through the stream's one writer, so the run begins between two
of its updates, is stored with them, and a viewer sees the window emptied exactly there."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.utils import timezone

from core.models import Run, StreamToken
from streaming.leases import LEASE
from tests.asgi_clients import Stream, open_viewer

pytestmark = pytest.mark.django_db(transaction=True)


async def updates_until(viewer, seq: int) -> list[dict]:
    """The updates a viewer gets, up to the one numbered `seq`."""
    updates: list[dict] = []
    while not updates or updates[-1]["seq"] < seq:
        message = await viewer.receive_json_from()
        if message["type"] == "updates":
            updates.extend(message["updates"])
    return updates


def stored_runs(token: StreamToken) -> list[tuple[int, int, str]]:
    return list(Run.objects.filter(token=token).values_list("number", "first_seq", "name"))


async def test_a_run_line_starts_a_run_with_its_own_points_and_the_viewer_sees_the_window_emptied_there(
    alices_plot, stream_pipeline
):
    viewer = await open_viewer(alices_plot.pk)
    assert (await viewer.receive_json_from())["type"] == "snapshot"
    stream = Stream(alices_plot.token.token)
    for line in ({"x": 1, "y": 1}, {"x": 2, "y": 2}, {"run": {"name": "second"}, "x": 10, "y": 10}, {"x": 11, "y": 11}):
        await stream.write(line)
    status, answer = await stream.end()
    assert (status, answer["accepted"]) == (200, 4)

    updates = await updates_until(viewer, 4)
    assert [u["seq"] for u in updates] == [1, 2, 3, 4]
    assert [("run" in u) for u in updates] == [False, False, True, False]
    assert updates[2]["run"] == {"number": 2, "name": "second"}
    assert updates[2]["traces"]["0"] == {"clear": ["x", "y"], "extend": {"x": [10], "y": [10]}}
    assert await sync_to_async(stored_runs)(alices_plot.token) == [(2, 3, "second")]

    again = await open_viewer(alices_plot.pk)
    snapshot = await again.receive_json_from()
    assert snapshot["figure"]["data"][0]["x"] == [10, 11]
    await viewer.disconnect()
    await again.disconnect()


async def test_a_bad_run_line_is_rejected_and_starts_nothing(alices_plot, stream_pipeline):
    stream = Stream(alices_plot.token.token)
    await stream.write({"x": 1, "y": 1})
    await stream.write({"run": "again", "x": 2, "y": 2})
    status, answer = await stream.end()
    assert (status, answer["accepted"], answer["rejected"]) == (200, 1, 1)
    assert answer["rejections"][0]["reason"].startswith("run: ")
    assert await sync_to_async(stored_runs)(alices_plot.token) == []


async def logged_in(user) -> AsyncClient:
    client = AsyncClient()
    await sync_to_async(client.force_login)(user)
    return client


async def test_the_api_starts_a_run_between_the_updates_of_an_open_stream(alices_plot, alice, stream_pipeline):
    viewer = await open_viewer(alices_plot.pk)
    await viewer.receive_json_from()
    stream = Stream(alices_plot.token.token)
    await stream.write({"x": 1, "y": 1})
    await updates_until(viewer, 1)

    client = await logged_in(alice)
    response = await client.post(
        f"/api/streams/{alices_plot.token.pk}/runs/", {"name": "after lunch"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    run = response.json()
    assert (run["number"], run["name"], run["first_seq"], run["last_seq"], run["current"]) == (
        2,
        "after lunch",
        2,
        None,
        True,
    )
    await stream.write({"x": 2, "y": 2})
    updates = await updates_until(viewer, 3)
    assert updates[0]["run"] == {"number": 2, "name": "after lunch"}
    assert updates[0]["traces"]["0"] == {"clear": ["x", "y"]}
    assert updates[1]["traces"]["0"] == {"extend": {"x": [2], "y": [2]}}
    status, answer = await stream.end()
    assert (status, answer["accepted"]) == (200, 2)  # the API's run is not the producer's line
    await viewer.disconnect()


async def test_the_api_starts_a_run_of_a_stream_with_no_producer(alices_plot, alice, stream_pipeline):
    stream = Stream(alices_plot.token.token)
    await stream.write({"x": 1, "y": 1})
    await stream.end()
    client = await logged_in(alice)
    response = await client.post(f"/api/streams/{alices_plot.token.pk}/runs/", b"", content_type="application/json")
    assert response.status_code == 201, response.content
    assert (response.json()["number"], response.json()["first_seq"]) == (2, 2)
    second = await client.post(f"/api/streams/{alices_plot.token.pk}/runs/", b"{}", content_type="application/json")
    assert orjson.loads(second.content)["number"] == 3
    assert await sync_to_async(stored_runs)(alices_plot.token) == [(2, 2, ""), (3, 3, "")]

    viewer = await open_viewer(alices_plot.pk)
    assert (await viewer.receive_json_from())["figure"]["data"][0]["x"] == []
    await viewer.disconnect()


async def test_another_process_asks_the_holder_of_the_stream_to_start_the_run(alices_plot, stream_pipeline, pipeline):
    stream = Stream(alices_plot.token.token)
    await stream.write({"x": 1, "y": 1})
    await stream.write({"x": 2, "y": 2})
    async with asyncio.timeout(5):
        while (held := stream_pipeline.holding_session(alices_plot.token.pk)) is None or held.writer.seq < 2:
            await asyncio.sleep(0.01)
    # `pipeline` stands for another process: it holds no stream, so it asks by message.
    assert pipeline.holding_session(alices_plot.token.pk) is None
    assert await pipeline.ask_holder_to_start_run(alices_plot.token.pk, "remote") == (2, 3)
    await stream.write({"x": 3, "y": 3})
    status, _ = await stream.end()
    assert status == 200
    assert await sync_to_async(stored_runs)(alices_plot.token) == [(2, 3, "remote")]


async def test_the_api_never_takes_a_producers_stream_over_and_says_when_its_holder_does_not_answer(
    alices_plot, alice, stream_pipeline, settings
):
    settings.RUN_START_TIMEOUT = 0.3
    # Held by a connection of another process (a live lease) that does not answer.
    held = StreamToken.objects.filter(pk=alices_plot.token.pk)
    await sync_to_async(held.update)(holder="elsewhere", connected=True, lease_until=timezone.now() + LEASE)
    client = await logged_in(alice)
    response = await client.post(f"/api/streams/{alices_plot.token.pk}/runs/", b"", content_type="application/json")
    assert response.status_code == 504
    assert "not confirmed in time" in response.json()["message"]
    assert await sync_to_async(lambda: held.get().holder)() == "elsewhere"
    assert await sync_to_async(stored_runs)(alices_plot.token) == []
