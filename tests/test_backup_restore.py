"""A backup taken while a plot streams restores to a server that shows the same plot and goes on.

PostgreSQL: `pg_dump --format=custom` and `pg_restore` into a new database, as
docs/deployment.md says. SQLite (the embedded default): `sqlite3 db ".backup copy"`.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable

import pytest

from harness.live_server import LiveServer, manage, new_user, wait_for
from streaming.leases import SEQ_SKIP
from tests.client_module import plotserver_client as client


def back_up_and_restore(integration_db, folder) -> tuple[dict[str, str], Callable[[], None]]:
    """Copy the live database as an operator would; return the copy's env and how to drop it."""
    if integration_db.admin_url is None:
        sqlite3 = shutil.which("sqlite3")
        if sqlite3 is None:
            pytest.skip("the sqlite3 command is not installed")
        source = integration_db.url.removeprefix("sqlite:///")
        copy = folder / "restored.sqlite3"
        subprocess.run([sqlite3, source, f".backup {copy}"], check=True, timeout=60)
        return {"DATABASE_URL": f"sqlite:///{copy}"}, lambda: None
    import psycopg

    dump = folder / "plotserver.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", integration_db.url], check=True, timeout=120)
    name = f"plotserver_restored_{uuid.uuid4().hex[:8]}"
    restored_url = f"{integration_db.url.rpartition('/')[0]}/{name}"
    with psycopg.connect(integration_db.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored_url}", str(dump)], check=True, timeout=120)

    def drop() -> None:
        with psycopg.connect(integration_db.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return {"DATABASE_URL": restored_url}, drop


def test_a_backup_of_a_streaming_plot_restores_and_streams_on(start_server, integration_db, artifacts, tmp_path):
    server = start_server(name="backed-up")
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=100)
    stream = client.Stream(server.url, token)
    for i in range(150):
        stream.write({"x": i, "y": i})
    wait_for(lambda: user.figure(plot["id"])["data"][0]["x"][-1:] == [149], message="the points to be stored")

    restored_env, drop = back_up_and_restore(integration_db, tmp_path)  # the stream is still open
    stream.close()
    restored = None
    try:
        manage("migrate", "--noinput", env=restored_env)  # what an upgrade runs; nothing to do here
        restored = LiveServer(restored_env, artifacts, name="restored").start()
        user.base_url = restored.url
        assert user.figure(plot["id"])["data"][0]["x"] == list(range(50, 150))
        with client.Stream(restored.url, token) as again:
            again.write({"x": 150, "y": 150})
        assert user.figure(plot["id"])["data"][0]["x"] == list(range(51, 151))
        # The backup holds the stream as connected, as after a crash: the next writer numbers past
        # anything the old one might have sent unstored (docs/streaming.md), so no viewer sees a
        # number twice.
        assert user.stream_status(token)["last_seq"] == 150 + SEQ_SKIP + 1
    finally:
        if restored is not None:
            restored.stop()
        drop()
