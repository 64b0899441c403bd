"""The checkout's own secret key: `.plotserver-secret-key`, made once by `make run` and kept out
of git, so that every command run in the checkout (`make run`, `manage.py ...`) signs with the
same key without SECRET_KEY set. SECRET_KEY, when set, wins.

`python -m plotserver.secret_key` makes the file unless it exists (the Makefile runs it).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = ".plotserver-secret-key"
CHECKOUT = Path(__file__).resolve().parent.parent


def key_file(checkout: Path = CHECKOUT) -> Path:
    return checkout / FILE_NAME


class KeyFileUnusable(Exception):
    """The key file is there but holds no key this process can use: the message says why."""


def read_key_file(checkout: Path = CHECKOUT) -> str:
    """The key kept in the checkout, or "" when there is none (KeyFileUnusable when the file
    cannot be read or is empty: a key that silently changed would log everyone out)."""
    path = key_file(checkout)
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise KeyFileUnusable(
            f"{path} cannot be read ({exc.strerror}): run the command as the user who made it, or set SECRET_KEY"
        ) from None
    if not key:
        raise KeyFileUnusable(f"{path} is empty: delete it and `make run` makes a new one, or set SECRET_KEY")
    return key


def make_key_file(checkout: Path = CHECKOUT) -> Path:
    """Write a new random key, readable by its owner only, unless the file exists."""
    path = key_file(checkout)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(50) + "\n")
    return path


if __name__ == "__main__":
    make_key_file()
