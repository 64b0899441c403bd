"""The README's account commands, exactly as written, in a fresh clone after `make run`'s own
steps: every `.venv/bin/python manage.py ...` of the README works with no SECRET_KEY set, since
the commands read the checkout's `.plotserver-secret-key` as the server does.

The commands are read out of README.md, so the README and this test cannot drift apart."""

from __future__ import annotations

import base64
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.checkout import clean_env, fresh_checkout
from harness.live_server import ROOT, free_port, wait_for

PASSWORD = "a-long-README-password-7"


def readme_manage_commands() -> list[str]:
    """Every `.venv/bin/python manage.py ...` the README writes, in its order."""
    text = (ROOT / "README.md").read_text()
    return re.findall(r"`(\.venv/bin/python manage\.py [^`]+)`", text)


def in_terminal(command: list[str], cwd: Path, answers: list[tuple[str, str]], timeout: float = 120) -> str:
    """Run `command` on a terminal of its own (as a user types it), answering each prompt in
    turn once it shows; return what it printed. Fails if it exits with an error."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        command, cwd=cwd, env=clean_env(), stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True
    )
    os.close(terminal)
    output = b""
    seen = 0
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0].encode() in output[seen:]:
                prompt, answer = pending.pop(0)
                seen = output.index(prompt.encode(), seen) + len(prompt)
                os.write(main, answer.encode() + b"\n")
            if process.poll() is not None and not ready:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
    text = output.decode(errors="replace")
    assert code == 0, f"{shlex.join(command)} failed ({code}):\n{text}"
    assert not pending, f"{shlex.join(command)} never asked {pending[0][0]!r}:\n{text}"
    return text


def api_get(base_url: str, username: str, key: str) -> int:
    request = urllib.request.Request(f"{base_url}/api/plots/")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening yet
        return 0


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone after `make run`'s setup steps (its key file, migrate, the demo account),
    run as the Makefile runs them, with none of plotserver's variables set."""
    checkout = fresh_checkout(tmp_path / "plotserver")
    for step in (
        ".venv/bin/python -m plotserver.secret_key",
        ".venv/bin/python manage.py migrate --noinput",
        ".venv/bin/python manage.py demo --setup --url http://127.0.0.1:8000",
    ):
        result = subprocess.run(
            shlex.split(step), cwd=checkout, env=clean_env(), capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, f"{step}:\n{result.stdout}{result.stderr}"
    assert (checkout / ".plotserver-secret-key").stat().st_mode & 0o077 == 0
    return checkout


def test_every_account_command_of_the_readme_works_as_written_without_secret_key(clone):
    commands = readme_manage_commands()
    kinds = [shlex.split(command)[2] for command in commands]
    assert {"changepassword", "apikey", "createsuperuser", "runserver"} <= set(kinds), commands
    keys: dict[str, str] = {}
    passwords: dict[str, str] = {}
    for command in commands:
        argv = shlex.split(command)
        kind = argv[2]
        if kind == "changepassword":
            username = argv[3]
            in_terminal(argv, clone, [("Password: ", PASSWORD), ("Password (again): ", PASSWORD)])
            passwords[username] = PASSWORD
        elif kind == "createsuperuser":
            in_terminal(
                argv,
                clone,
                [("Username", "root-of-readme"), ("Email address: ", ""), ("Password: ", PASSWORD),
                 ("Password (again): ", PASSWORD)],
            )  # fmt: skip
            passwords["root-of-readme"] = PASSWORD
        elif kind in ("apikey", "migrate"):
            result = subprocess.run(argv, cwd=clone, env=clean_env(), capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"{command}:\n{result.stdout}{result.stderr}"
            if kind == "apikey":
                keys[argv[3]] = result.stdout.strip().splitlines()[-1]
            if "--create-user" in argv:  # its hint names a command that works here, as written
                assert f".venv/bin/python manage.py changepassword {argv[3]}" in result.stderr
        elif kind != "runserver":
            pytest.fail(f"the README writes {command!r}, which this test does not know how to run")
    assert {"demo", "alice"} <= set(keys) and {"demo", "alice", "root-of-readme"} <= set(passwords)

    # runserver, as written ([addrport] filled in), serves the accounts just made.
    runserver = next(shlex.split(c.replace("[addrport]", "")) for c in commands if " runserver" in c)
    port = free_port()
    server = subprocess.Popen(
        [*runserver, f"127.0.0.1:{port}"],
        cwd=clone,
        env=clean_env(),
        stdout=(clone / "runserver.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: api_get(base_url, "alice", keys["alice"]) == 200,
            timeout=60,
            message=f"runserver answering: {(clone / 'runserver.log').read_text()}",
        )
        assert api_get(base_url, "demo", keys["demo"]) == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_in(checkout, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        shlex.split(command), cwd=checkout, env=clean_env(), capture_output=True, text=True, timeout=120
    )


def test_without_secret_key_or_key_file_a_command_says_how_to_get_one(tmp_path):
    checkout = fresh_checkout(tmp_path / "plotserver")
    result = run_in(checkout, ".venv/bin/python manage.py apikey alice --create-user")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert str(checkout / ".plotserver-secret-key") in result.stderr
    assert "make run" in result.stderr


def test_an_empty_key_file_is_named_not_taken_for_a_missing_one(tmp_path):
    checkout = fresh_checkout(tmp_path / "plotserver")
    (checkout / ".plotserver-secret-key").write_text("")  # a write cut short
    result = run_in(checkout, ".venv/bin/python manage.py check")
    assert result.returncode != 0
    assert f"{checkout / '.plotserver-secret-key'} is empty: delete it" in result.stderr
