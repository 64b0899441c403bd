"""Against a real server: a viewer's socket hears of an annotation made, changed or deleted
through the API, and of one a stream line made at the stream's x, without asking again; a new
viewer finds them in its snapshot, a returning one gets them whole (docs/websocket.md)."""

from __future__ import annotations

import json
from urllib.parse import quote

from websockets.sync.client import connect

from harness.producer import RawStream


def next_of(viewer, kind: str) -> dict:
    """The next message of `kind`, past updates and presence (recv has its own deadline)."""
    while True:
        message = json.loads(viewer.recv(timeout=10))
        if message["type"] == kind:
            return message


def test_a_viewer_hears_of_annotations_made_changed_and_deleted(server, producer):
    plot = producer.make_plot([producer.make_token()])
    path = f"/api/plots/{plot['id']}/annotations/"
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/") as viewer:
        assert next_of(viewer, "snapshot")["annotations"] == []
        made = producer.ok("POST", path, {"x": 3, "text": "valve open"})
        assert next_of(viewer, "annotation")["annotations"] == [made]
        changed = producer.ok("PATCH", f"{path}{made['id']}/", {"x_end": 5})
        assert next_of(viewer, "annotation")["annotations"] == [changed]
        producer.ok("DELETE", f"{path}{made['id']}/")
        assert next_of(viewer, "annotation_deleted") == {"type": "annotation_deleted", "ids": [made["id"]]}


def test_a_new_viewer_finds_them_in_its_snapshot(server, producer):
    plot = producer.make_plot([producer.make_token()])
    made = producer.ok("POST", f"/api/plots/{plot['id']}/annotations/", {"x": 1, "text": "before"})
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/") as viewer:
        assert next_of(viewer, "snapshot")["annotations"] == [made]


def test_a_stream_line_marks_an_event_at_the_streams_x_and_viewers_see_it(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/") as viewer:
        next_of(viewer, "snapshot")
        stream = RawStream(server.port, token).open()
        stream.write({"x": 1, "y": 10})
        stream.write({"x": 2, "y": 12})
        stream.write({"annotation": {"text": "valve open"}})
        # Rejected for its annotation alone: the line is fine but for the colour.
        stream.write({"x": 3, "y": 14, "annotation": {"text": "too", "color": "not-a-colour"}})
        [heard] = next_of(viewer, "annotation")["annotations"]
        assert (heard["x"], heard["text"], heard["stream"]) == (2, "valve open", producer.stream_id(token))
    answer = stream.end().json
    assert (answer["accepted"], answer["rejected"]) == (3, 1)
    assert answer["last_error"]["message"].startswith("annotation.color:"), answer
    assert [a["text"] for a in producer.ok("GET", f"/api/plots/{plot['id']}/annotations/")] == ["valve open"]


def test_a_returning_viewer_gets_the_annotations_whole_after_its_catch_up(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    url = f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/"
    with connect(url) as viewer:
        snapshot = next_of(viewer, "snapshot")
    made = producer.ok("POST", f"/api/plots/{plot['id']}/annotations/", {"x": 1, "text": "while away"})
    since = json.dumps({"revision": snapshot["revision"], "streams": {str(producer.stream_id(token)): 0}})
    with connect(f"{url}?since={quote(since)}") as viewer:
        assert next_of(viewer, "annotations")["annotations"] == [made]
    # One that held an annotation deleted meanwhile (it says how many it held) learns it went.
    producer.ok("DELETE", f"/api/plots/{plot['id']}/annotations/{made['id']}/")
    since = json.dumps({**json.loads(since), "annotations": 1})
    with connect(f"{url}?since={quote(since)}") as viewer:
        assert next_of(viewer, "annotations")["annotations"] == []
