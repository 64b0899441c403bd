"""Is this process up, and can it do its work: the checks behind /healthz and /readyz."""

from __future__ import annotations

import asyncio

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from base import redis_hosts
from base.timeouts import within


def _query_database() -> None:
    connection = connections["default"]
    if _every_connection_busy(connection):
        _query_outside_the_pool(connection)
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # A thread of the check's own: it must not keep a connection open after it.
        connection.close()


def _every_connection_busy(connection: BaseDatabaseWrapper) -> bool:
    """Whether every connection of this process's pool (PostgreSQL) is in use: a check that
    waited for one would say a busy process is not ready (taking it out of its load balancer,
    and its load onto the others)."""
    pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
    if pool is None:
        return False
    stats = pool.get_stats()
    return stats.get("pool_available", 0) == 0 and stats.get("pool_size", 0) >= stats.get("pool_max", 1)


def _query_outside_the_pool(connection: BaseDatabaseWrapper) -> None:
    """Ask the database on a connection of the check's own, opened and closed at once: it
    answers (busy, not cut off), or the check fails as it would with a pooled one."""
    params = connection.get_connection_params()
    params["connect_timeout"] = max(1, int(settings.READYZ_TIMEOUT))
    # A database that takes connections but answers no query must not keep one open per check.
    timeout = f"-c statement_timeout={max(1, int(settings.READYZ_TIMEOUT * 1000))}"
    params["options"] = f"{params['options']} {timeout}" if params.get("options") else timeout
    with psycopg.connect(**params) as probe:
        probe.execute("SELECT 1").fetchone()


async def check_database() -> None:
    """Raise unless the database answers a query."""
    # thread_sensitive=False: a check must not queue behind requests on Django's one sync thread.
    await sync_to_async(_query_database, thread_sensitive=False)()


async def check_channel_layer() -> None:
    """Raise unless every Redis host of the channel layer answers a PING (through its sentinels
    for a Sentinel master) and no other process lists the hosts in another order (the in-memory
    layer always passes)."""
    hosts = settings.REDIS_HOSTS
    if not hosts:
        return
    problem = redis_hosts.shard_positions().problem
    if problem is not None:
        raise type(problem)(str(problem))
    await asyncio.gather(*(_ping(host) for host in hosts))


class RedisAway(Exception):
    """One shard of several did not answer (the message names it)."""


async def _ping(host: redis_hosts.RedisHost) -> None:
    client = redis_hosts.redis_client(host, settings.READYZ_TIMEOUT)
    try:
        await client.ping()
    except Exception as exc:
        if len(settings.REDIS_HOSTS) == 1:
            raise
        raise RedisAway(f"{redis_hosts.describe(host)}: {type(exc).__name__}: {exc}") from exc
    finally:
        await redis_hosts.close_client(client)


CHECKS = {"database": check_database, "channel_layer": check_channel_layer}


async def run_check(check) -> str:
    """'ok', or what went wrong, within READYZ_TIMEOUT seconds."""
    try:
        await within(check(), settings.READYZ_TIMEOUT)
    except TimeoutError:
        return f"no answer within {settings.READYZ_TIMEOUT:g} s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


async def readiness() -> dict[str, str]:
    """Every check, run at once: {name: 'ok' or the failure}."""
    results = await asyncio.gather(*(run_check(check) for check in CHECKS.values()))
    return dict(zip(CHECKS, results, strict=True))
