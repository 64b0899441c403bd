"""Where plotserver's Redis is and how to reach it: the one home for both.

Every use of Redis (the channel layer, /readyz, the shard-position check) takes its hosts from
`redis_hosts()` and its connections from `redis_client()`. A host is what channels_redis takes in
its `hosts` list: `{"address": URL}` for a Redis named by URL, or `{"sentinels": [...],
"master_name": ...}` for a master found through Redis Sentinel, asked again at every new
connection, so that every use follows a failover. Several hosts are shards: channels_redis puts
each channel and group on one of them by a hash of its name, so every process must list them in
the same order; `ShardPositions` detects a process that does not (docs/deployment.md, "Several
Redis hosts").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import redis.asyncio
from channels_redis.utils import _consistent_hash, create_pool
from django.conf import settings

log = logging.getLogger("plotserver.redis")

RedisHost = dict[str, Any]

URL_SCHEMES = ("redis", "rediss", "unix")
# The key, in every shard, that says which shard of how many it is for the processes using it.
# It expires unless a process renews it, so that a list changed on purpose (every process
# stopped and started with the new list) is taken once the old one's processes are gone.
SHARD_POSITION_KEY = "shard-position"
SHARD_POSITION_SECONDS = 60
SHARD_POSITION_RENEWAL = 20.0


class RedisSettingUnusable(ValueError):
    """A Redis setting that cannot be used as it is (the message says which and why)."""


class ShardOrderDiffers(RuntimeError):
    """Another process lists the same Redis host at another position (or in a list of another length)."""


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """`host:port,host:port,...` as [(host, port)]; an IPv6 address goes in brackets: `[::1]:26379`."""
    sentinels = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        host, colon, port = entry.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RedisSettingUnusable(
                f"REDIS_SENTINELS: {entry!r} is not host:port (e.g. 10.0.0.5:26379, [::1]:26379)"
            )
        sentinels.append((host, int(port)))
    return sentinels


def _names(name: str, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    doubles = sorted({item for item in items if items.count(item) > 1})
    if doubles:
        raise RedisSettingUnusable(f"{name} lists {', '.join(doubles)} more than once: each shard once")
    return items


def redis_hosts(env: Mapping[str, str], timeout: float) -> list[RedisHost]:
    """The channel layer's Redis hosts from the environment, in shard order; [] for none (the
    in-memory layer: one process). Raises RedisSettingUnusable for a setting that names Redis in
    a way that cannot be used, never falling back to the in-memory layer.

    REDIS_URL: one URL or several, comma-separated (shards). REDIS_SENTINELS (`host:port,...`)
    with REDIS_SENTINEL_MASTER: the name of the master the sentinels monitor, or several (shards,
    each its own master). REDIS_PASSWORD: the password of Redis servers found through Sentinel
    (a URL carries its own); REDIS_SENTINEL_PASSWORD: the sentinels' own. `timeout`: seconds a
    connection may take to open (and a sentinel to answer)."""
    urls = _names("REDIS_URL", env.get("REDIS_URL", ""))
    sentinels = parse_sentinels(env.get("REDIS_SENTINELS", ""))
    masters = _names("REDIS_SENTINEL_MASTER", env.get("REDIS_SENTINEL_MASTER", ""))
    password = env.get("REDIS_PASSWORD", "")
    sentinel_password = env.get("REDIS_SENTINEL_PASSWORD", "")
    if urls and (sentinels or masters):
        raise RedisSettingUnusable(
            "REDIS_URL and REDIS_SENTINELS are both set: set REDIS_URL for Redis servers at fixed "
            "addresses, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER for masters found through Sentinel"
        )
    if sentinels and not masters:
        raise RedisSettingUnusable(
            "REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not: name the master the sentinels "
            "monitor (their `sentinel monitor NAME ...` line), or several names, comma-separated, for shards"
        )
    if masters and not sentinels:
        raise RedisSettingUnusable(
            "REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not: list the sentinels as host:port,host:port"
        )
    if sentinel_password and not sentinels:
        raise RedisSettingUnusable("REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not")
    if password and not (urls or sentinels):
        raise RedisSettingUnusable("REDIS_PASSWORD is set but neither REDIS_URL nor REDIS_SENTINELS is")
    hosts: list[RedisHost] = []
    for url in urls:
        if urlsplit(url).scheme not in URL_SCHEMES:
            raise RedisSettingUnusable(
                f"REDIS_URL: {describe({'address': url})!r} is not a Redis URL "
                "(redis://host:port/db, rediss://... or unix:///path; several: comma-separated)"
            )
        host: RedisHost = {"address": url, "socket_connect_timeout": timeout}
        if password:
            host["password"] = password  # the URL's own password, if it has one, comes first
        hosts.append(host)
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if sentinel_password:
        sentinel_kwargs["password"] = sentinel_password
    for master in masters:
        host = {
            "sentinels": sentinels,
            "master_name": master,
            "sentinel_kwargs": sentinel_kwargs,
            "socket_connect_timeout": timeout,
        }
        if password:
            host["password"] = password
        hosts.append(host)
    return hosts


def describe(host: RedisHost) -> str:
    """The host as a log line or an error names it: no password."""
    if "address" in host:
        parts = urlsplit(host["address"])
        netloc = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=netloc).geturl()
    sentinels = ",".join(f"{h}:{p}" for h, p in host["sentinels"])
    return f"master {host['master_name']!r} of the sentinels {sentinels}"


def redis_client(host: RedisHost, timeout: float) -> redis.asyncio.Redis:
    """A client of its own for one host (through its sentinels for a Sentinel master), every
    call bounded by `timeout` seconds. Close it with `close_client`."""
    pool = create_pool({**host, "socket_timeout": timeout, "socket_connect_timeout": timeout})
    return redis.asyncio.Redis(connection_pool=pool)


async def close_client(client: redis.asyncio.Redis) -> None:
    """Close the client, and for a Sentinel master its connections to the sentinels too."""
    await client.aclose(close_connection_pool=True)
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    for sentinel in manager.sentinels if manager is not None else ():
        await sentinel.aclose(close_connection_pool=True)


async def check_master_known(host: RedisHost, timeout: float) -> None:
    """Raise RedisSettingUnusable when sentinels answer and none of them monitors the master
    named (a misspelled REDIS_SENTINEL_MASTER). Sentinels that do not answer prove nothing: an
    outage, which the channel layer rides out."""
    if "master_name" not in host:
        return
    kwargs = host["sentinel_kwargs"]
    known: set[str] = set()
    answered = False
    for address, port in host["sentinels"]:
        sentinel = redis.asyncio.Redis(host=address, port=port, decode_responses=True, **kwargs)
        try:
            async with asyncio.timeout(timeout):
                known |= set(cast(dict[str, object], await sentinel.sentinel_masters()))
            answered = True
        except redis.AuthenticationError as exc:
            raise RedisSettingUnusable(f"REDIS_SENTINEL_PASSWORD: the sentinel {address}:{port} says {exc}") from None
        except (redis.RedisError, OSError, TimeoutError):
            continue
        finally:
            await sentinel.aclose()
    if answered and host["master_name"] not in known:
        raise RedisSettingUnusable(
            f"REDIS_SENTINEL_MASTER: the sentinels monitor no master named {host['master_name']!r} "
            f"(they monitor: {', '.join(sorted(known)) or 'none'})"
        )


class ShardPositions:
    """Claims, in each shard, this process's position for it (`SHARD_POSITION_KEY`, e.g. "2 of
    3"), and finds out when another process claimed another one: its list differs from this one's,
    so the two would put a channel on different shards and lose messages between them.
    Compared by position, not by address, so that two names of the same server agree."""

    def __init__(self, hosts: list[RedisHost], prefix: str, timeout: float) -> None:
        self.hosts = hosts
        self.key = f"{prefix}:{SHARD_POSITION_KEY}"
        self.timeout = timeout
        # What the last claim found wrong (for /readyz), or None.
        self.problem: ShardOrderDiffers | RedisSettingUnusable | None = None

    async def claim(self) -> bool:
        """Claim every shard's position; True when every shard answered. Raises ShardOrderDiffers
        when a shard holds another position, RedisSettingUnusable when it refuses the password."""
        answered = True
        for index, host in enumerate(self.hosts):
            position = f"{index + 1} of {len(self.hosts)}"
            client = redis_client(host, self.timeout)
            try:
                async with asyncio.timeout(self.timeout * 2):
                    if not await client.set(self.key, position, nx=True, ex=SHARD_POSITION_SECONDS):
                        stored = await client.get(self.key)
                        found = stored.decode() if isinstance(stored, bytes) else stored
                        if found is not None and found != position:
                            raise ShardOrderDiffers(
                                f"{describe(host)} is shard {found} for another plotserver process, "
                                f"but shard {position} here: every process must list the same Redis hosts in "
                                "the same order (REDIS_URL, or REDIS_SENTINEL_MASTER)"
                            )
                        await client.expire(self.key, SHARD_POSITION_SECONDS)
            except ShardOrderDiffers as exc:
                self.problem = exc
                raise
            except redis.AuthenticationError as exc:
                self.problem = RedisSettingUnusable(
                    f"{describe(host)} refuses the password given (REDIS_PASSWORD, or the URL's own): {exc}"
                )
                raise self.problem from None
            except (redis.RedisError, OSError, TimeoutError):
                answered = False
            finally:
                await close_client(client)
        self.problem = None
        return answered

    async def keep(self) -> None:
        """Renew the claims every SHARD_POSITION_RENEWAL seconds, for as long as the process runs."""
        while True:
            await asyncio.sleep(SHARD_POSITION_RENEWAL)
            try:
                await self.claim()
            except (ShardOrderDiffers, RedisSettingUnusable) as exc:
                log.error("%s", exc)


def group_on_each_shard(name: Callable[[int], str], shards: int, prefix: str) -> list[str]:
    """One group name per shard, in shard order, from name(0), name(1), ... channels_redis puts a
    group on the shard that a CRC of its channel name (`<prefix>__group__<group>`) picks
    (channels_redis 4.3, pinned; tests/test_redis_settings.py checks this against the layer)."""
    found: dict[int, str] = {}
    for n in range(1000 * shards):
        group = name(n)
        found.setdefault(_consistent_hash(f"{prefix}__group__{group}", shards), group)
        if len(found) == shards:
            return [found[shard] for shard in range(shards)]
    raise RuntimeError(f"no group name found for each of {shards} shards")


_positions: ShardPositions | None = None


def shard_positions() -> ShardPositions:
    """This process's ShardPositions, of settings.REDIS_HOSTS under settings.REDIS_PREFIX."""
    global _positions
    if _positions is None:
        _positions = ShardPositions(settings.REDIS_HOSTS, settings.REDIS_PREFIX, settings.CHANNEL_LAYER_TIMEOUT)
    return _positions
