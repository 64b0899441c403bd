"""A stream on the main port, in process: the ingest consumer and its session, driven with the
ASGI messages uvicorn would send. Lines are counted and answered, the request rules hold, and
takeover and revocation reach an open stream through the channel layer.

The same behaviour over real sockets is in test_ingest_answers.py, test_stream_takeover.py and
test_stream_revocation.py; these show it without a server, so a failure names the layer.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from core.models import StreamToken, Trace
from core.models.windows import traces_with_windows
from streaming import leases
from tests.asgi_clients import Stream, open_viewer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(alices_plot):
    """The stream token feeding trace 0 of alice's public plot (`token.plot`)."""
    token = alices_plot.token
    token.plot = alices_plot
    return token


def window_of(plot) -> list:
    return traces_with_windows(Trace.objects.filter(plot=plot))[0].spec["x"]


async def test_the_lines_of_a_stream_are_counted_and_answered_when_it_ends(token, stream_pipeline):
    stream = Stream(token.token)
    await stream.write({"x": 1, "y": 1})
    await stream.write(b'{"x": 2, "y": 2}\n{"x": 3')
    await stream.write(b', "y": 3}\nnot json\n')
    status, answer = await stream.end()

    assert status == 200
    assert (answer["message"], answer["accepted"], answer["rejected"]) == ("stream ended cleanly", 3, 1)
    assert answer["last_error"]["line"] == 4
    assert await sync_to_async(window_of)(token.plot) == [1, 2, 3]


async def test_a_line_reaches_viewers_while_the_request_is_still_open(token, stream_pipeline):
    viewer = await open_viewer(token.plot.pk)
    assert (await viewer.receive_json_from())["type"] == "snapshot"
    stream = Stream(token.token)
    await stream.write({"x": 7, "y": 70})

    message = await viewer.receive_json_from()
    assert message["type"] == "updates"
    assert message["updates"][0]["traces"]["0"] == {"extend": {"x": [7], "y": [70]}}
    assert (await stream.end())[1]["accepted"] == 1
    await viewer.disconnect()


async def test_a_request_without_a_token_header_reads_lines_that_name_their_token(token, stream_pipeline):
    stream = Stream(None)
    await stream.write(b'{"x": 1, "y": 1, "streamtoken": "%s"}\n{"x": 2}\n' % token.token.encode())
    status, answer = await stream.end()
    assert (status, answer["accepted"], answer["rejected"]) == (200, 1, 1)
    assert answer["tokens"][token.token]["accepted"] == 1
    assert await sync_to_async(window_of)(token.plot) == [1]


async def test_a_stream_token_on_anything_but_post_gets_405(token, stream_pipeline):
    status, answer = await Stream(token.token, method="PUT").end()
    assert (status, answer["message"]) == (405, "use POST to stream")


async def test_an_unknown_token_gets_404(stream_pipeline):
    status, answer = await Stream("no-such-token-anywhere").end()
    assert (status, answer["message"]) == (404, "unknown or revoked stream token")


async def open_stream_seen_by_a_viewer(token, named: bool = False) -> Stream:
    """A stream that has written {"x": 1, "y": 1}, once a viewer got it: the session is open.
    `named`: without the token header, the line naming its token."""
    viewer = await open_viewer(token.plot.pk)
    assert (await viewer.receive_json_from())["type"] == "snapshot"
    stream = Stream(None if named else token.token)
    await stream.write({"x": 1, "y": 1, "streamtoken": token.token} if named else {"x": 1, "y": 1})
    assert (await viewer.receive_json_from())["type"] == "updates"
    await viewer.disconnect()
    return stream


async def test_a_newer_stream_on_the_same_token_ends_the_older_with_409_and_keeps_both(
    token, stream_pipeline, settings
):
    settings.STREAM_TAKEOVER_TIMEOUT = 10  # a margin for a loaded machine: see `server` in conftest
    older = await open_stream_seen_by_a_viewer(token)
    newer = Stream(token.token)
    await newer.write({"x": 2, "y": 2})

    status, answer = await older.answer()
    assert (status, answer["accepted"]) == (409, 1)
    assert answer["message"] == "a newer connection with the same stream token took over this stream"
    assert (await newer.end())[1]["accepted"] == 1
    assert await sync_to_async(window_of)(token.plot) == [1, 2]
    # The older writer handed over (it did not look crashed), so numbering goes on without a jump.
    await sync_to_async(token.refresh_from_db)()
    assert token.last_seq == 2


@pytest.fixture
def hour_long_leases(monkeypatch):
    """Leases renewed (and revocations looked up in the database) once an hour, not every few
    seconds: within a test, only a message can end a stream."""
    monkeypatch.setattr(leases, "LEASE", timedelta(hours=3))


async def test_revoking_ends_the_open_stream_with_410_through_the_channel_layer(
    token, hour_long_leases, stream_pipeline
):
    stream = await open_stream_seen_by_a_viewer(token)
    await sync_to_async(lambda: StreamToken.objects.get(pk=token.pk).revoke())()

    status, answer = await stream.answer()
    assert (status, answer["message"], answer["accepted"]) == (410, "the stream token was revoked", 1)
    assert await sync_to_async(window_of)(token.plot) == [1]
    assert (await Stream(token.token).end())[0] == 404


async def test_a_server_stopping_answers_a_connection_of_lines_that_name_their_token_503_after_storing_them(
    token, stream_pipeline
):
    stream = await open_stream_seen_by_a_viewer(token, named=True)
    stream_pipeline.end_streams()
    status, answer = await stream.answer()
    assert (status, answer["accepted"]) == (503, 1)
    assert (answer["tokens"][token.token]["status"], answer["tokens"][token.token]["accepted"]) == (503, 1)
    assert await sync_to_async(window_of)(token.plot) == [1]
