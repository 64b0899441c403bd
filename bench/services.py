"""What the services behind a server spend while a scenario runs: Redis and PostgreSQL.

Redis: the CPU of each redis-server named by REDIS_URL (its `process_id` from `INFO server`, its
utime + stime from /proc/<pid>/stat when it runs on this machine, else its own `used_cpu_user` +
`used_cpu_sys` from `INFO cpu`: the same getrusage figures), and the commands it ran (`INFO
commandstats`), PUBLISH among them with the time Redis counts inside it (handing the message to
each subscriber; not reading the command or writing to the sockets). The whole server is
counted, its background work (0.13% of a core idle, here) included: on a Redis shared with
other work, theirs is in it too (the figures say how many commands ran, to see it).

PostgreSQL: the CPU of the backends connected to the benchmark's own database
(`pg_stat_activity`, then /proc; a backend that ends within the span takes its CPU with it, and
is counted in `backends_ended`), and the database's commits (`pg_stat_database.xact_commit`,
which backends report at most once a second). The server's shared processes (WAL writer,
checkpointer) are not counted.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import Environment, cpu_by_process


class RedisMeter:
    """CPU and commands of the redis-servers of a REDIS_URL (one, or several shards) over a span."""

    def __init__(self, url: str) -> None:
        import redis

        self.clients = [redis.Redis.from_url(part.strip()) for part in url.split(",") if part.strip()]

    def read(self) -> dict:
        cpu, commands, publishes, publish_us, sources = 0.0, 0, 0, 0, set()
        for client in self.clients:
            pid = client.info("server")["process_id"]
            local = Path(f"/proc/{pid}/comm")
            if local.exists() and local.read_text().startswith("redis"):
                cpu += cpu_by_process([pid]).get(pid, 0.0)
                sources.add("/proc")
            else:
                usage = client.info("cpu")
                cpu += usage["used_cpu_user"] + usage["used_cpu_sys"]
                sources.add("INFO cpu")
            stats = client.info("commandstats")
            commands += sum(entry["calls"] for entry in stats.values())
            publishes += stats.get("cmdstat_publish", {}).get("calls", 0)
            publish_us += stats.get("cmdstat_publish", {}).get("usec", 0)
        return {
            "cpu_seconds": cpu,
            "commands": commands,
            "publishes": publishes,
            "publish_command_us": publish_us,
            "source": sorted(sources),
        }

    def start(self) -> RedisMeter:
        self.before = self.read()
        return self

    def stop(self) -> dict:
        after = self.read()
        for client in self.clients:
            client.close()
        counted = ("cpu_seconds", "commands", "publishes", "publish_command_us")
        return {key: after[key] - self.before[key] for key in counted} | {
            "servers": len(self.clients),
            "source": after["source"],
        }


class PostgresMeter:
    """CPU of the backends serving one database, and its commits, over a span."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url, self.database = admin_url, database

    def read(self) -> tuple[dict[int, float], int]:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            pids = [
                row[0]
                for row in connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))
            ]
            row = connection.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (self.database,)
            ).fetchone()
        return cpu_by_process(pids), int(row[0]) if row else 0

    def start(self) -> PostgresMeter:
        self.cpu0, self.commits0 = self.read()
        return self

    def stop(self) -> dict:
        cpu, commits = self.read()
        return {
            "cpu_seconds": sum(now - self.cpu0.get(pid, 0.0) for pid, now in cpu.items()),
            "backends": len(cpu),
            "backends_ended": len(set(self.cpu0) - set(cpu)),
            "commits": commits - self.commits0,
        }


class ServiceMeters:
    """Redis and PostgreSQL, each when the environment uses it (and PostgreSQL runs on this machine)."""

    def __init__(self, env: Environment) -> None:
        url = env.env.get("REDIS_URL", "")
        self.redis = RedisMeter(url) if url else None
        admin = env.database.admin_url
        local = admin and any(host in admin for host in ("@127.0.0.1", "@localhost", "@/")) and os.path.isdir("/proc")
        self.postgres = PostgresMeter(admin, env.database.name) if local and admin else None

    def start(self) -> ServiceMeters:
        if self.redis:
            self.redis.start()
        if self.postgres:
            self.postgres.start()
        return self

    def stop(self) -> dict:
        return {
            "redis": self.redis.stop() if self.redis else None,
            "postgres": self.postgres.stop() if self.postgres else None,
        }
