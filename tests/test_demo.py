"""The demo of `make run`: a demo account and plot, and a producer that streams into it."""

from __future__ import annotations

import subprocess
import sys

from harness.live_server import ROOT, Api, manage, server_env, wait_for


def test_the_demo_plot_moves_as_soon_as_the_demo_producer_runs(server, integration_db):
    setup = manage("demo", "--setup", "--url", server.url, env=integration_db.env)
    assert "password:" in setup and "API key:" in setup
    again = manage("demo", "--setup", "--url", server.url, env=integration_db.env)
    assert "password:" not in again  # shown once, on the first run
    plot_url = setup.strip().splitlines()[-1].split()[-1]
    plot_id = int(plot_url.rstrip("/").rsplit("/", 1)[1])

    producer = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--produce", "--url", server.url, "--interval", "0.05"],
        cwd=ROOT,
        env=server_env(integration_db.env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        visitor = Api(server.url)
        wait_for(lambda: all(len(t["y"]) >= 5 for t in visitor.figure(plot_id)["data"]), timeout=20)
    finally:
        producer.terminate()
        producer.wait(10)
    assert [t["name"] for t in visitor.figure(plot_id)["data"]] == ["sine", "walk"]


def test_a_lost_demo_password_is_recovered_with_changepassword(server, integration_db):
    from tests.test_accounts_from_the_command_line import change_password, log_in

    setup = manage("demo", "--setup", "--url", server.url, env=integration_db.env)
    assert "python manage.py changepassword demo" in setup
    change_password("demo", "demo-password-recovered", integration_db.env)
    assert not log_in(server.url, "demo", "demo-password-recovered").endswith("/login/")
