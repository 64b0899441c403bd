"""`pip install ./client`, run in a checkout as the README writes it, leaves the checkout as it
was: no build/ or .egg-info folder (ignored or not), so `make lint` still passes there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*command: str | Path, cwd: Path, timeout: float = 120) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def copy_of_the_checkout(destination: Path) -> Path:
    """The tracked files as they are now (edits included), committed in a repository of their own."""
    tracked = run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    run("git", "init", "--quiet", cwd=destination)
    run("git", "add", "--all", cwd=destination)
    who = ("-c", "user.name=test", "-c", "user.email=test@example.invalid")
    run("git", *who, "commit", "--quiet", "--message", "copy", cwd=destination)
    return destination


@pytest.mark.long
def test_pip_install_of_the_client_leaves_the_checkout_as_it_was(tmp_path):
    checkout = copy_of_the_checkout(tmp_path / "plotserver")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)

    pip = (sys.executable, "-m", "pip", "--python", venv / "bin" / "python")
    run(*pip, "install", "--quiet", "./client", cwd=checkout)

    assert (venv / "bin" / "plotserver-stream").exists()
    # --ignored too: a build folder hidden by .gitignore would still trip mypy.
    assert run("git", "status", "--porcelain", "--ignored", cwd=checkout) == ""
    run(BIN / "mypy", "--no-incremental", "client", cwd=checkout)
    run(BIN / "lint-imports", cwd=checkout)
