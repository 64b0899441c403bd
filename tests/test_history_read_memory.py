"""A range read holds what it answers with, not the range: a 2,000-point answer from tens of
thousands of points of text costs the server about the answer and a page of stored rows, where
it once materialised every point of the range (about 280 MB a read of 300,000 texts). A real
server; its peak memory (VmHWM) is read around the request."""

from __future__ import annotations

from pathlib import Path

from harness.live_server import new_user
from harness.producer import send_lines

POINTS = 40_000
TEXT = "a label long enough to weigh: " + "t" * 370  # 400 bytes: 16 MB of text in the range


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def test_a_downsampled_read_of_a_long_text_trace_holds_about_its_answer(start_server, integration_db):
    # The allocator gives freed memory back at once and keeps one arena, so that the peak is
    # what the read held, not what the allocator kept from earlier requests.
    server = start_server(
        "read-memory",
        STREAM_TOKEN_RATE="50000",
        STREAM_TOKEN_BURST="50000",
        MALLOC_ARENA_MAX="1",
        MALLOC_MMAP_THRESHOLD_="65536",
        MALLOC_TRIM_THRESHOLD_="0",
    )
    owner = new_user(integration_db.env, server.url)
    token = owner.make_token()
    plot = owner.make_plot([token], title="kept", retention="forever")
    lines = [{"x": i, "y": (i * 7919) % 1000, "text": TEXT} for i in range(POINTS)]
    # What a first read costs once (imports, caches), before the baseline: a small one. (A second
    # read of the same range would reuse what the first let go without growing the process.)
    assert send_lines(server.port, token, lines[:3000], timeout=120).json["accepted"] == 3000
    points = f"/api/plots/{plot['id']}/traces/0/points/?max_points=2000&method=lttb"
    assert owner.ok("GET", points)["returned"] == 2000
    assert send_lines(server.port, token, lines[3000:], timeout=120).json["accepted"] == POINTS - 3000

    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current size
    before = status_kib(pid, "VmRSS")
    answer = owner.ok("GET", points)
    peak = status_kib(pid, "VmHWM") - before

    assert (answer["total"], answer["returned"]) == (POINTS, 2000)
    assert all(text == TEXT for text in answer["points"]["text"])
    # Measured: about 8 MB (the answer, a page of 2,000 updates, their decoding); reading the range
    # whole took about 45 MB. The bound is the range's text alone, held once.
    range_text_kib = POINTS * len(TEXT) // 1024  # about 15,600 KiB
    assert peak < range_text_kib, f"the read's peak was {peak} KiB above the server's size before it"
