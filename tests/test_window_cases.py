"""One set of window rules, tests/window/cases.json, held by both sides: the server's window
(core/window.py: apply_update, and apply_delta that replays what is stored) and the
browser's (web/static/plots/viewer.js, run in node by tests/window/viewer_window.js with the
deltas the server sends). A viewer's figure and the stored one never drift apart.

Each case: a trace (`initial`, and `initial_layout`), its `maxpoints`, the stream `lines` written
to it, and the trace (`expected`, `expected_layout`) that every side must then hold.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from core.protocol import parse_line
from core.window import apply_delta, apply_update, merge_layout

HERE = Path(__file__).resolve().parent / "window"
CASES = json.loads((HERE / "cases.json").read_text())
STREAM = 1


def case_id(case: dict) -> str:
    return case["name"].replace(" ", "-")


def served(case: dict) -> tuple[dict, dict, list[dict]]:
    """What the server holds after the case's lines, and the updates it sends viewers."""
    trace, layout = copy.deepcopy(case["initial"]), copy.deepcopy(case.get("initial_layout", {}))
    updates = []
    for seq, line in enumerate(case["lines"], start=1):
        update = parse_line(json.dumps(line).encode())
        message = {"stream": STREAM, "seq": seq, "traces": {"0": apply_update(trace, update, case["maxpoints"])}}
        if update.layout:
            merge_layout(layout, update.layout)
            message["layout"] = update.layout
        if update.run is not None:  # as a stream's writer numbers it (streaming/stream_state.py)
            message["run"] = {"number": 2, "name": update.run}
        updates.append(message)
    return trace, layout, updates


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_server_window_follows_the_case(case):
    trace, layout, _ = served(case)
    assert trace == case["expected"]
    assert layout == case.get("expected_layout", {})


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_replaying_the_stored_deltas_gives_the_same_window(case):
    _, _, updates = served(case)
    trace = copy.deepcopy(case["initial"])
    for update in updates:
        apply_delta(trace, update["traces"]["0"], case["maxpoints"])
    assert trace == case["expected"]


def test_the_browser_viewer_holds_the_same_window_for_every_case():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    runs = []
    for case in CASES:
        snapshot = {
            "type": "snapshot",
            "revision": 1,
            "figure": {"data": [case["initial"]], "layout": case.get("initial_layout", {})},
            "traces": [{"index": 0, "stream": STREAM, "maxpoints": case["maxpoints"]}],
            "streams": {str(STREAM): {"seq": 0, "connected": True}},
        }
        # One update a message, then the same updates again in one message: both reach a page.
        updates = served(case)[2]
        runs.append({"messages": [snapshot, *({"type": "updates", "updates": [u]} for u in updates)]})
        runs.append({"messages": [copy.deepcopy(snapshot), {"type": "updates", "updates": updates}]})
    result = subprocess.run(
        [node, str(HERE / "viewer_window.js")], input=json.dumps(runs), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for index, case in enumerate(CASES):
        for figure in figures[2 * index : 2 * index + 2]:
            assert figure["data"][0] == case["expected"], case["name"]
            assert figure["layout"] == case.get("expected_layout", {}), case["name"]
