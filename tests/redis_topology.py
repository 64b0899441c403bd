"""Redis servers of a test's own: plain ones (shards), and masters with a replica each watched by
three sentinels (Debian's `redis-server --sentinel`), on free ports in the test's folder, all
killed at the end. Without redis-server the test is skipped, and under CI failed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from harness.live_server import free_port, wait_for

PASSWORD = "redis-test-password"
# Sentinel takes a master for dead once it has not answered for this long, then elects one of
# them to promote the replica (docs/deployment.md, "Redis Sentinel", uses the same values).
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10000


def redis_server_executable() -> str:
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing, and CI must run every test (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    return executable


class RedisProcess:
    """One redis-server (or sentinel) process of the test's own."""

    def __init__(self, folder: Path, args: list[str], password: str = "") -> None:
        self.port = free_port()
        self.folder = folder
        self.password = password
        folder.mkdir(parents=True, exist_ok=True)
        self.command = [redis_server_executable(), *args]
        self.process: subprocess.Popen | None = None

    @classmethod
    def server(cls, folder: Path, password: str = "", replica_of: RedisProcess | None = None) -> RedisProcess:
        server = cls(folder, [], password)
        server.command += ["--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                           "--dir", str(folder)]  # fmt: skip
        if password:
            server.command += ["--requirepass", password, "--masterauth", password]
        if replica_of is not None:
            server.command += ["--replicaof", "127.0.0.1", str(replica_of.port)]
        return server

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password or None, socket_timeout=2, decode_responses=True)

    def start(self) -> RedisProcess:
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(self._answers, timeout=20, message=f"{self.command[1:3]} to answer on port {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis exited: {(self.folder / 'redis.log').read_text()[-2000:]}")
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: the process is gone at once, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)


class SentinelMasters:
    """Masters with a replica each, the three sentinels that watch them, and the settings that
    point plotserver at them (`env`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pairs: dict[str, tuple[RedisProcess, RedisProcess]] = {}
        self.sentinels: list[RedisProcess] = []

    def start(self, names: list[str]) -> SentinelMasters:
        for name in names:
            master = RedisProcess.server(self.folder / f"{name}-master", PASSWORD)
            self.pairs[name] = (master, master)
            master.start()
            replica = RedisProcess.server(self.folder / f"{name}-replica", PASSWORD, replica_of=master)
            self.pairs[name] = (master, replica)
            replica.start()
        for n in range(3):
            self.sentinels.append(self._sentinel(self.folder / f"sentinel-{n}"))
            self.sentinels[-1].start()
        wait_for(self._watching, timeout=60, interval=0.2, message="the sentinels to know every replica and each other")
        return self

    def _sentinel(self, folder: Path) -> RedisProcess:
        sentinel = RedisProcess(folder, [])
        lines = [f"port {sentinel.port}", "bind 127.0.0.1", f"dir {folder}"]
        for name, (master, _) in self.pairs.items():
            lines += [
                f"sentinel monitor {name} 127.0.0.1 {master.port} 2",
                f"sentinel auth-pass {name} {PASSWORD}",
                f"sentinel down-after-milliseconds {name} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {name} {FAILOVER_TIMEOUT_MS}",
            ]
        config = folder / "sentinel.conf"
        config.write_text("\n".join(lines) + "\n")
        sentinel.command += [str(config), "--sentinel"]
        return sentinel

    def _watching(self) -> bool:
        for sentinel in self.sentinels:
            for name in self.pairs:
                state = sentinel.client().sentinel_master(name)
                if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                    return False
        for _, replica in self.pairs.values():
            if replica.client().info("replication")["master_link_status"] != "up":
                return False
        return True

    @property
    def env(self) -> dict[str, str]:
        """plotserver's settings for these masters, one shard per master."""
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels),
            "REDIS_SENTINEL_MASTER": ",".join(self.pairs),
            "REDIS_PASSWORD": PASSWORD,
        }

    def master_port(self, name: str) -> int:
        """The port of the master as the first sentinel that answers sees it."""
        for sentinel in self.sentinels:
            try:
                return int(sentinel.client().sentinel_get_master_addr_by_name(name)[1])
            except redis.RedisError:
                continue
        raise AssertionError("no sentinel answers")

    def kill_master(self, name: str) -> RedisProcess:
        """Kill the master (SIGKILL) and return its replica, which the sentinels are to promote."""
        master, replica = self.pairs[name]
        master.kill()
        return replica

    def stop(self) -> None:
        for process in [*self.sentinels, *(p for pair in self.pairs.values() for p in pair)]:
            process.kill()


@pytest.fixture
def sentinel_masters(tmp_path):
    """One master `plotserver` with its replica, watched by three sentinels."""
    masters = SentinelMasters(tmp_path / "redis")
    try:
        yield masters.start(["plotserver"])
    finally:
        masters.stop()


@pytest.fixture
def two_shards(tmp_path):
    """Two plain Redis servers, the shards of `REDIS_URL=first,second`."""
    shards = [RedisProcess.server(tmp_path / f"shard-{n}") for n in range(2)]
    try:
        yield [shard.start() for shard in shards]
    finally:
        for shard in shards:
            shard.kill()
