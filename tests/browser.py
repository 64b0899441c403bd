"""Headless Chromium for browser tests: Debian's chromium driven by Playwright, never a download.

Fixtures (imported by tests/conftest.py):
- `browser`: one Chromium for a test module.
- `page`: a fresh context and page per test; console errors and page errors fail the test,
  and a screenshot is kept in test-artifacts/ when the test fails.
- `member`: a user of the live server who can log in to the web UI (password) and use the
  REST API (API key).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass

import pytest

from harness.chromium import CHROMIUM_ARGS
from harness.live_server import Api, manage


def launch_chromium(playwright, extra_args: tuple[str, ...] = (), **options):
    """Debian's chromium (the path Playwright is told), with flags that keep it off the network."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args], **options)


@pytest.fixture(scope="module")
def playwright():
    """Playwright, once a test module (its sync API runs only one instance in a thread). Not once
    a session: while it runs, its event loop counts as this thread's running loop, and the async
    tests of a later module (pytest-asyncio) would refuse to start."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright):
    """One headless Chromium for a test module."""
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser, request, artifacts):
    """A page in a context of its own. A JavaScript error on it fails the test."""
    context = browser.new_context(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    # A page a test opens may be refused on purpose; what that page loads may not.
    page.on(
        "response",
        lambda r: r.status >= 400 and r.request.resource_type != "document" and errors.append(f"{r.status} {r.url}"),
    )
    page.js_errors = errors
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(artifacts / f"failed-{request.node.name}.png"))
    context.close()
    # A dropped socket while the server restarts is logged by Chromium as a console error.
    quiet = ("WebSocket connection", "ERR_CONNECTION_REFUSED", "Failed to load resource")
    real = [e for e in errors if not any(q in e for q in quiet)]
    assert not real, "JavaScript errors on the page:\n" + "\n".join(real)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@dataclass
class Member:
    username: str
    password: str
    api: Api
    session_cookies: list | None = None

    def log_in(self, page, base_url: str) -> None:
        """Log in through the login form, as a person would."""
        page.goto(f"{base_url}/login/")
        page.fill("input[name=username]", self.username)
        page.fill("input[name=password]", self.password)
        page.click("button[type=submit]")
        try:
            page.wait_for_url(lambda url: "/login/" not in url)
        except Exception as exc:
            errors = page.locator(".errorlist")
            shown = errors.first.inner_text() if errors.count() else "no error shown"
            raise AssertionError(f"login as {self.username} stayed on /login/: {shown}") from exc


def new_member(env: dict[str, str], base_url: str, *, staff: bool = False) -> Member:
    username = f"member{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    script = (
        "from django.contrib.auth import get_user_model; from core.models import ApiKey; "
        f"User = get_user_model(); u = User.objects.create_user({username!r}, password={password!r}, "
        f"is_staff={staff}, is_superuser={staff}); print(ApiKey.issue(u))"
    )
    key = manage("shell", "-c", script, env=env).strip().splitlines()[-1]
    return Member(username, password, Api(base_url, username, key))


@pytest.fixture(scope="session")
def member(integration_db, server) -> Member:
    """A user of the live server with a password (for the web UI) and an API key.

    One for the session: making a user costs a Django start-up; tests make plots of their own."""
    return new_member(integration_db.env, server.url)


@pytest.fixture
def member_page(page, member, server):
    """`page`, logged in as `member` (through the login form once a session, then by cookie)."""
    if member.session_cookies is None:
        member.log_in(page, server.url)
        member.session_cookies = page.context.cookies()
    else:
        page.context.add_cookies(member.session_cookies)
    return page


@pytest.fixture(scope="session")
def operator(integration_db, server) -> Member:
    """A staff user (superuser) of the live server, for the admin."""
    return new_member(integration_db.env, server.url, staff=True)


@pytest.fixture
def admin_page(page, operator, server):
    """`page`, logged in to the admin as `operator`."""
    operator.log_in(page, server.url)
    return page
