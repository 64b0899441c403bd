"""The README's account commands, run as a new user runs them: an account made with
`apikey NAME --create-user` gets a password with `changepassword NAME` and then logs in to
the pages (the demo account's lost password is recovered the same way: tests/test_demo.py)."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar

from harness.live_server import ROOT, server_env


def change_password(username: str, password: str, env: dict[str, str]) -> None:
    """`manage.py changepassword NAME`, typing the password twice (no terminal: stdin)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "changepassword", username],
        cwd=ROOT,
        env=server_env(env),
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: getpass reads stdin
    )
    assert result.returncode == 0, result.stdout + result.stderr


def log_in(base_url: str, username: str, password: str) -> str:
    """Post the login form as a browser does; return the address it lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base_url}/login/").read().decode()
    csrf = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": username, "password": password})
    answer = opener.open(urllib.request.Request(f"{base_url}/login/", data=form.encode(), method="POST"))
    return answer.geturl()


def test_a_user_made_with_apikey_logs_in_after_changepassword(server, integration_db):
    username = f"newcomer{uuid.uuid4().hex[:6]}"
    result = subprocess.run(
        [sys.executable, "manage.py", "apikey", username, "--create-user"],
        cwd=ROOT,
        env=server_env(integration_db.env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"manage.py changepassword {username}" in result.stderr
    assert log_in(server.url, username, "any-password-1").endswith("/login/")  # no password yet
    change_password(username, "a-long-password-1", integration_db.env)
    assert not log_in(server.url, username, "a-long-password-1").endswith("/login/")
