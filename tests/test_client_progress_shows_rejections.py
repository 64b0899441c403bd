"""The command's progress line shows rejected lines while the stream runs, with the last one's
reason, not only in the summary at the end."""

from __future__ import annotations

import contextlib
import os
import pty

from harness.live_server import wait_for
from tests.client_module import start_cli


def test_rejected_rows_show_on_the_progress_line_while_the_input_is_still_open(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    controller, terminal = pty.openpty()
    cli = start_cli("--url", server.url, "--token", token, "--csv", "--columns", "x,colour", stderr=terminal)
    os.close(terminal)
    seen = b""

    def shown(text: bytes) -> bool:
        nonlocal seen
        if text not in seen:
            with contextlib.suppress(OSError):  # OSError: the command ended, its terminal closed
                seen += os.read(controller, 65536)
        return text in seen

    try:
        cli.stdin.write(b"1,red\n2,blue\n")
        cli.stdin.flush()
        wait_for(lambda: shown(b"2 rejected"), timeout=30, message="the rejections on the progress line")
        assert b"last rejected: line 2: colour" in seen
        assert cli.poll() is None  # the input is still open: the stream runs on
        cli.stdin.write(b"3,green\n")
        cli.stdin.close()
        assert cli.wait(timeout=30) == 0
        wait_for(lambda: shown(b"3 rejected"), timeout=10, message="the summary")
    finally:
        if cli.poll() is None:
            cli.kill()
        os.close(controller)
