"""While the database cannot be reached, REST answers the documented JSON 503 (pages a branded
503 page), nothing else; when it is back, everything works again without a restart.

The outage is real: on PostgreSQL the server's database refuses connections and its open
ones are terminated; on SQLite its file is moved away and a directory put in its place.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from harness.live_server import IntegrationDatabase, LiveServer, fetch, new_user, wait_for


@pytest.fixture
def outage_db(tmp_path):
    """A throwaway database of the server under test, which the test may cut off."""
    database = IntegrationDatabase(tmp_path)
    yield database
    set_reachable(database, True)
    database.drop()


def set_reachable(database: IntegrationDatabase, reachable: bool) -> None:
    if database.admin_url:
        import psycopg

        with psycopg.connect(database.admin_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database.name}" ALLOW_CONNECTIONS {str(reachable).lower()}')
            if not reachable:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database.name]
                )
        return
    path = Path(database.url.removeprefix("sqlite:///"))
    away = path.parent / "away"
    if not reachable and not away.exists():
        away.mkdir()
        for file in path.parent.glob(f"{path.name}*"):
            file.rename(away / file.name)
        path.mkdir()  # opening a directory as the database fails, even for root
    elif reachable and away.exists():
        path.rmdir()
        for file in away.iterdir():
            file.rename(path.parent / file.name)
        away.rmdir()


def test_an_outage_answers_json_503_on_the_api_a_503_page_and_recovers(outage_db, artifacts):
    server = LiveServer(outage_db.env, artifacts, name="outage").start()
    try:
        user = new_user(outage_db.env, server.url)
        plot = user.make_plot([], title="before the outage")
        set_reachable(outage_db, False)

        status, body = user.get("/api/plots/")
        assert status == 503
        assert body["message"].startswith("The database is unavailable")
        assert user.request("POST", "/api/plots/", {"title": "during"})[0] == 503
        assert user.get(f"/api/plots/{plot['id']}/figure/")[0] == 503

        status, headers, page = fetch(f"{server.url}/")
        assert (status, headers["retry-after"]) == (503, "5")
        assert "Back in a moment" in page and "database is unavailable" in page

        form = urlencode({"un": user.username, "key": user.key, "args": "[]", "kwargs": "{}"}).encode()
        status, _, answer = fetch(f"{server.url}/clientresp", form)
        assert status == 503 and "database is unavailable" in answer

        set_reachable(outage_db, True)
        wait_for(lambda: user.get("/api/plots/")[0] == 200, timeout=20, message="the API back after the outage")
        titles = [p["title"] for p in user.ok("GET", "/api/plots/")["results"]]
        assert titles == ["before the outage"]
        assert fetch(f"{server.url}/")[0] == 200
    finally:
        server.stop()
