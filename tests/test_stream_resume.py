"""A resumed stream (the `plotserver-resume` header) stores each of its producer's lines once.

In process, on the main port's door: a request that names its stream and the number of its
first line skips the lines an earlier request of that stream had stored, counts them in its
answer as `skipped`, and never counts them again in the token's totals. The client across a
crash is tests/test_client_resends_after_a_crash.py; a node's death behind nginx,
tests/test_node_death.py.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from core.models import StreamToken, Trace
from core.models.windows import traces_with_windows
from tests.asgi_clients import Stream

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_ID = "producer-stream-0001"


@pytest.fixture
def token(alices_plot):
    """The stream token of alice's plot, whose one trace it feeds."""
    return alices_plot.token


def stored_xs(token) -> list:
    """The x of every point the token's trace holds, as a new viewer would read them."""
    (trace,) = traces_with_windows(Trace.objects.filter(stream_token=token))
    return trace.spec["x"]


def totals_of(token) -> tuple[int, int, str, int]:
    """The token's counters and its resume mark."""
    row = StreamToken.objects.get(pk=token.pk)
    return row.accepted, row.rejected, row.resume_stream, row.resume_line


async def send(token, resume: str, lines: list[bytes]) -> tuple[int, dict]:
    """One request with the resume header, these lines in one body, then its answer."""
    stream = Stream(token.token, extra_headers={"plotserver-resume": resume})
    for line in lines:
        await stream.write(line)
    return await stream.end()


def points(*xs: int) -> list[bytes]:
    return [b'{"x": %d, "y": %d}\n' % (x, x) for x in xs]


async def test_a_resumed_request_skips_the_lines_stored_already_and_counts_them_as_skipped(token, stream_pipeline):
    status, first = await send(token, f"{STREAM_ID} 1", points(1, 2, 3, 4, 5))
    assert (status, first["accepted"], "skipped" in first) == (200, 5, False)
    assert await sync_to_async(totals_of)(token) == (5, 0, STREAM_ID, 5)

    # The producer missed that answer (say): it sends lines 3 to 8 again.
    status, second = await send(token, f"{STREAM_ID} 3", points(3, 4, 5, 6, 7, 8))

    assert (status, second["accepted"], second["rejected"], second["skipped"]) == (200, 3, 0, 3)
    assert await sync_to_async(stored_xs)(token) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert await sync_to_async(totals_of)(token) == (8, 0, STREAM_ID, 8)


async def test_a_request_of_another_stream_skips_nothing(token, stream_pipeline):
    await send(token, f"{STREAM_ID} 1", points(1, 2, 3))

    status, answer = await send(token, "another-producer-0002 1", points(1, 2))

    assert (status, answer["accepted"], "skipped" in answer) == (200, 2, False)
    assert await sync_to_async(stored_xs)(token) == [1, 2, 3, 1, 2]
    assert await sync_to_async(totals_of)(token) == (5, 0, "another-producer-0002", 2)


async def test_rejected_lines_are_numbered_and_skipped_too_heartbeats_are_not(token, stream_pipeline):
    _, first = await send(token, f"{STREAM_ID} 1", [*points(1), b"\n", b"not json\n", *points(2), b"\n"])
    assert (first["accepted"], first["rejected"]) == (2, 1)
    assert await sync_to_async(totals_of)(token) == (2, 1, STREAM_ID, 3)

    # Lines 2 (the rejected one) and 3 again, with a heartbeat between them, then line 4.
    _, second = await send(token, f"{STREAM_ID} 2", [b"not json\n", b"\n", *points(2, 3)])

    assert (second["accepted"], second["rejected"], second["skipped"]) == (1, 0, 2)
    assert await sync_to_async(stored_xs)(token) == [1, 2, 3]
    assert await sync_to_async(totals_of)(token) == (3, 1, STREAM_ID, 4)


async def test_a_request_that_starts_past_the_stored_lines_takes_every_line(token, stream_pipeline):
    await send(token, f"{STREAM_ID} 1", points(1, 2))

    _, answer = await send(token, f"{STREAM_ID} 3", points(3, 4))

    assert (answer["accepted"], "skipped" in answer) == (2, False)
    assert await sync_to_async(totals_of)(token) == (4, 0, STREAM_ID, 4)


@pytest.mark.parametrize(
    "value",
    ["", "short 1", f"{STREAM_ID}", f"{STREAM_ID} 0", f"{STREAM_ID} -3", f"{STREAM_ID} 1 2", f"{STREAM_ID}! 1"],
)
async def test_a_malformed_header_is_a_400_that_says_the_form_expected(token, stream_pipeline, value):
    stream = Stream(token.token, extra_headers={"plotserver-resume": value})

    status, answer = await stream.answer()

    assert status == 400
    assert answer["message"].startswith("plotserver-resume: expected '<stream id> <n>'")
    assert await sync_to_async(totals_of)(token) == (0, 0, "", 0)
