"""manage.py's commands run one after another by one long-lived process, for the test suite.

Starting Python and Django for each `manage.py apikey --create-user` costs over a second of CPU;
tests make hundreds of users. A worker (`python -m harness.manage_worker`, with the environment
a `manage.py` of the same settings would get) sets Django up once and then runs each command
it reads from standard input, a JSON list of arguments a line, exactly as `manage.py` would
(Django's `ManagementUtility`), writing back one JSON line: the command's exit status and what
it printed. Every database connection is closed after each command (its pool too), as a
`manage.py` process would leave none. harness/live_server.py's `manage()` starts and keeps the workers.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from typing import Any


def run(argv: list[str]) -> dict[str, object]:
    """One command, as `manage.py *argv` runs it: its exit status, standard output and error."""
    from django.core.management import ManagementUtility
    from django.db import connections

    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ManagementUtility(["manage.py", *argv]).execute()
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        except Exception:
            traceback.print_exc()
            status = 1
        finally:
            close_connections(connections)
    return {"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}


def close_connections(connections: Any) -> None:
    """Leave no connection open, as a process that exits leaves none: PostgreSQL's connection
    pool (plotserver/settings.py) would otherwise keep its minimum open between commands."""
    for connection in connections.all(initialized_only=True):
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()


def main() -> None:
    import django

    django.setup()
    answers = sys.stdout
    for line in sys.stdin:
        answers.write(json.dumps(run(json.loads(line))) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
