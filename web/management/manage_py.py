"""How the commands' hints name another manage.py command: with the interpreter that runs this
one, as the user can type it (`.venv/bin/python manage.py ...` in a checkout made by `make run`),
since a bare `python` may be one without plotserver's requirements."""

from __future__ import annotations

import os
import sys


def manage_py(arguments: str) -> str:
    python = sys.executable or "python"
    relative = os.path.relpath(python)
    if not relative.startswith(".."):
        python = relative if os.sep in relative else f".{os.sep}{relative}"
    return f"{python} manage.py {arguments}"
