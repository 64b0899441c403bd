"""Revoking a token ends its open stream (410) and refuses new ones (404); a revocation whose
message is lost still ends the stream, at the next lease renewal."""

from __future__ import annotations

from harness.live_server import manage
from harness.producer import RawStream


def test_revoking_ends_the_open_stream_with_410_and_keeps_its_points(streaming_plot, producer):
    token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    producer.revoke(token)
    answer = stream.answer(timeout=30)
    assert (answer.status, answer.json["message"]) == (410, "the stream token was revoked")
    assert producer.figure(plot["id"])["data"][0]["x"] == [1]


def test_a_revoked_token_is_refused_with_404(server, producer):
    token = producer.make_token()
    producer.revoke(token)
    assert RawStream(server.port, token).open().answer().status == 404


def test_a_revocation_whose_message_never_arrives_still_ends_the_stream(streaming_plot, producer, integration_db):
    token, plot, stream = streaming_plot(first={"x": 1, "y": 1})
    # Revoked in the database alone, as if the channel layer had lost the announcement.
    manage(
        "shell",
        "-c",
        "from django.utils import timezone; from core.models import StreamToken; "
        f"StreamToken.objects.filter(token={token!r}).update(revoked=timezone.now())",
        env=integration_db.env,
    )
    answer = stream.answer(timeout=30)  # streams re-check their tokens every few seconds
    assert (answer.status, answer.json["accepted"]) == (410, 1)
    assert producer.figure(plot["id"])["data"][0]["x"] == [1]
