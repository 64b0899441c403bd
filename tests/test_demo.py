"""The demo of `make run`: a demo account and plot, and a producer that streams into it."""

from __future__ import annotations

import pytest

from harness.live_server import Api, IntegrationDatabase, LiveServer, manage
from tests.demo import demo_producer_running, set_up_demo, wait_for_demo_points


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, artifacts):
    """A server on a database of the module's own, where no demo was set up yet: the first
    `demo --setup` is this module's, whatever other tests ran before it."""
    database = IntegrationDatabase(tmp_path_factory.mktemp("demo-first"))
    server = LiveServer(database.env, artifacts, name="demo-first").start()
    yield server, database.env
    server.stop()
    database.drop()


def test_the_demo_plot_moves_as_soon_as_the_demo_producer_runs(fresh):
    server, env = fresh
    setup, plot_id = set_up_demo(env, "--url", server.url)
    assert "password:" in setup and "API key:" in setup
    again = manage("demo", "--setup", "--url", server.url, env=env)
    assert "password:" not in again  # shown once, on the first run

    with demo_producer_running(server.url, env):
        wait_for_demo_points(server.url, plot_id, 5)
    assert [t["name"] for t in Api(server.url).figure(plot_id)["data"]] == ["sine", "walk"]


def test_a_lost_demo_password_is_recovered_with_changepassword(server, integration_db):
    from tests.test_accounts_from_the_command_line import change_password, log_in

    setup = manage("demo", "--setup", "--url", server.url, env=integration_db.env)
    assert "python manage.py changepassword demo" in setup
    change_password("demo", "demo-password-recovered", integration_db.env)
    assert not log_in(server.url, "demo", "demo-password-recovered").endswith("/login/")
