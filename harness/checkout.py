"""A fresh copy of this checkout, as a new user's clone is: the files git tracks (and new ones
not ignored), none of the ignored ones (no `.plotserver-secret-key`, no database), with the
checkout's `.venv` linked in so that `.venv/bin/python` works there as in the README."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness.live_server import ROOT


def fresh_checkout(destination: Path) -> Path:
    """Copy the checkout into `destination` (made here) and return it."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    destination.mkdir(parents=True)
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the work tree, not yet in git
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    os.symlink((ROOT / ".venv").resolve(), destination / ".venv")
    return destination


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a new user's shell: none of plotserver's settings are set (no
    SECRET_KEY, DEBUG, DATABASE_URL or REDIS_URL), nothing of the test run's."""
    dropped = ("SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "STREAM_PORT")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env
