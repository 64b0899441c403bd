"""PostgreSQL for the tests that need it even when the suite runs on the embedded defaults.

DATABASE_URL when it is PostgreSQL, else the local server at TEST_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/test). Without one such a test is skipped, and under CI failed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from harness.live_server import IntegrationDatabase

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"


def reachable_postgres() -> str:
    """The URL of a PostgreSQL database that answers; skips the test (fails it under CI) if none does."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = os.environ.get("TEST_POSTGRES_URL") or LOCAL_POSTGRES
    try:
        import psycopg

        psycopg.connect(base, connect_timeout=5).close()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {base} is unreachable ({exc}), and CI must run every test")
        pytest.skip(f"needs PostgreSQL (DATABASE_URL or TEST_POSTGRES_URL): {exc}")
    return base


@contextlib.contextmanager
def postgres_database(tmp_path: Path) -> Iterator[IntegrationDatabase]:
    """A migrated PostgreSQL database of the test's own, dropped afterwards."""
    database = IntegrationDatabase(tmp_path, reachable_postgres())
    try:
        yield database
    finally:
        database.drop()


def server_connections(database, **where: str) -> int:
    """How many connections the server holds to the database (with the given pg_stat_activity
    values): every connection to it but the test's own, which name themselves "test"."""
    conditions = "".join(f" AND {column} = %s" for column in where)
    assert database.admin_url is not None
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name <> 'test'{conditions}",
            [database.name, *where.values()],
        ).fetchone()
    assert row is not None
    return int(row[0])
