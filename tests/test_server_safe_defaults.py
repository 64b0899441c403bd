"""Safe defaults: only local host names without ALLOWED_HOSTS, no start without a SECRET_KEY
(unless DEBUG), and HTTPS=1 switching on Secure cookies, HSTS, the redirect and the CSP."""

from __future__ import annotations

import http.client
import secrets
import subprocess
import sys
from pathlib import Path

from harness.checkout import fresh_checkout
from harness.live_server import ROOT, free_port, server_env


def get(server, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_without_allowed_hosts_only_local_names_are_served_and_the_log_says_so(server):
    for host in ("localhost", f"127.0.0.1:{server.port}", "[::1]"):
        assert get(server, "/login/", {"Host": host}).status == 200, host
    assert "ALLOWED_HOSTS is not set: serving only localhost, 127.0.0.1, [::1]" in server.log_text()


def test_a_request_for_another_host_is_refused_so_its_name_reaches_no_link(server, producer):
    status, _ = producer.request("GET", "/api/plots/", headers={"Host": "evil.example"})
    assert status == 400
    status, _ = producer.request(
        "POST", "/api/plots/", {"title": "t", "figure": {"data": []}}, headers={"Host": "evil.example"}
    )
    assert status == 400
    plot = producer.make_plot([producer.make_token()], sharing="secret")
    assert plot["web_url"].startswith(f"http://127.0.0.1:{server.port}/")


def test_listed_allowed_hosts_replace_the_local_default(start_server):
    server = start_server(name="named-host", ALLOWED_HOSTS="plots.example")
    assert get(server, "/login/", {"Host": "plots.example"}).status == 200
    assert get(server, "/login/", {"Host": "localhost"}).status == 400
    assert "ALLOWED_HOSTS is not set" not in server.log_text()


def start_without_a_key(checkout: Path, **env: str) -> subprocess.CompletedProcess:
    """uvicorn in `checkout`, a fresh clone (no .plotserver-secret-key), without SECRET_KEY."""
    environment = server_env(env)
    environment.pop("SECRET_KEY", None)
    environment.pop("DEBUG", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "plotserver.asgi:application", "--http",
         "plotserver.http:GuardedHttpToolsProtocol", "--port", str(free_port())],
        cwd=checkout, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_without_a_secret_key_the_server_refuses_to_start_and_says_why(tmp_path):
    result = start_without_a_key(fresh_checkout(tmp_path / "plotserver"))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr + result.stdout


def test_with_debug_on_a_development_key_is_accepted(integration_db):
    environment = server_env(integration_db.env)
    environment.pop("SECRET_KEY", None)
    environment["DEBUG"] = "1"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    environment = server_env({"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "plots.example", **env})
    environment.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_deployment_check_is_clean_with_https_on_and_a_real_key():
    result = deploy_check(HTTPS="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_check_names_what_is_missing_without_https():
    result = deploy_check()
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr


def test_https_redirects_plain_http_and_marks_cookies_secure(start_server):
    server = start_server(name="https", HTTPS="1", HTTPS_PROXY_HEADER="X-Forwarded-Proto")
    plain = get(server, "/login/", {"Host": "localhost"})
    assert plain.status == 301 and plain.getheader("Location") == "https://localhost/login/"

    secure = get(server, "/login/", {"Host": "localhost", "X-Forwarded-Proto": "https"})
    assert secure.status == 200
    assert secure.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    assert "script-src 'self'" in secure.getheader("Content-Security-Policy")
    assert "'unsafe-eval'" not in secure.getheader("Content-Security-Policy")
    cookie = secure.getheader("Set-Cookie")
    assert cookie.startswith("csrftoken=") and "Secure" in cookie


def test_without_https_cookies_are_plain_and_no_hsts_is_sent(server):
    response = get(server, "/login/", {"Host": "localhost"})
    assert response.getheader("Strict-Transport-Security") is None
    assert "Secure" not in response.getheader("Set-Cookie")
