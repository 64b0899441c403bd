"""Which Redis hosts the settings name (base/redis_hosts.py): one URL, several (shards), masters
found through Sentinel; and every setting that names Redis in a way that cannot be used stops
the start with a message saying what to set, never leaving the process on the in-memory layer."""

from __future__ import annotations

import subprocess
import sys

import pytest
from channels_redis.pubsub import RedisPubSubLoopLayer

from base.redis_hosts import RedisSettingUnusable, describe, group_on_each_shard, parse_sentinels, redis_hosts
from harness.live_server import ROOT, server_env


def test_no_redis_setting_means_no_redis_host():
    assert redis_hosts({}, 2.0) == []


def test_one_url_is_one_host():
    assert redis_hosts({"REDIS_URL": "redis://cache:6379/0"}, 2.0) == [
        {"address": "redis://cache:6379/0", "socket_connect_timeout": 2.0}
    ]


def test_several_urls_are_shards_in_the_order_given():
    hosts = redis_hosts({"REDIS_URL": "redis://a:6379/0, redis://b:6379/0"}, 2.0)
    assert [host["address"] for host in hosts] == ["redis://a:6379/0", "redis://b:6379/0"]


def test_sentinels_and_a_master_name_are_one_host_found_through_sentinel():
    env = {
        "REDIS_SENTINELS": "10.0.0.5:26379,10.0.0.6:26379,[::1]:26380",
        "REDIS_SENTINEL_MASTER": "plotserver",
        "REDIS_PASSWORD": "secret",
        "REDIS_SENTINEL_PASSWORD": "sentinel-secret",
    }
    assert redis_hosts(env, 2.0) == [
        {
            "sentinels": [("10.0.0.5", 26379), ("10.0.0.6", 26379), ("::1", 26380)],
            "master_name": "plotserver",
            "sentinel_kwargs": {"socket_timeout": 2.0, "socket_connect_timeout": 2.0, "password": "sentinel-secret"},
            "socket_connect_timeout": 2.0,
            "password": "secret",
        }
    ]


def test_several_master_names_are_shards_each_found_through_the_sentinels():
    env = {"REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "shard-a,shard-b"}
    assert [host["master_name"] for host in redis_hosts(env, 2.0)] == ["shard-a", "shard-b"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINEL_MASTER is not"),
        ({"REDIS_SENTINEL_MASTER": "plotserver"}, "REDIS_SENTINELS is not"),
        ({"REDIS_URL": "redis://a/0", "REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "m"}, "both set"),
        ({"REDIS_SENTINELS": "s1", "REDIS_SENTINEL_MASTER": "m"}, "'s1' is not host:port"),
        ({"REDIS_SENTINELS": "s1:port", "REDIS_SENTINEL_MASTER": "m"}, "'s1:port' is not host:port"),
        ({"REDIS_URL": "cache:6379"}, "is not a Redis URL"),
        ({"REDIS_URL": "redis://a/0,redis://a/0"}, "more than once"),
        ({"REDIS_PASSWORD": "secret"}, "REDIS_PASSWORD is set but neither"),
        ({"REDIS_URL": "redis://a/0", "REDIS_SENTINEL_PASSWORD": "x"}, "REDIS_SENTINEL_PASSWORD is set"),
    ],
)
def test_a_setting_that_names_redis_but_cannot_be_used_says_what_is_wrong(env, message):
    with pytest.raises(RedisSettingUnusable, match=message):
        redis_hosts(env, 2.0)


def test_sentinels_parse_with_spaces_and_a_trailing_comma():
    assert parse_sentinels(" a:1, b:2 ,") == [("a", 1), ("b", 2)]


def test_a_host_is_described_without_its_password():
    assert describe({"address": "redis://:secret@cache:6379/0"}) == "redis://cache:6379/0"
    sentinel = {"sentinels": [("a", 1), ("b", 2)], "master_name": "m", "password": "secret"}
    assert describe(sentinel) == "master 'm' of the sentinels a:1,b:2"


def test_the_server_refuses_to_start_with_sentinels_but_no_master_name():
    """What an operator who set REDIS_SENTINELS alone sees: no server on the in-memory layer."""
    env = server_env({"REDIS_SENTINELS": "127.0.0.1:26379"})
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not" in done.stderr


def test_a_relays_probe_groups_land_one_on_each_shard_as_channels_redis_places_them():
    """The relay probes every shard through a group of its own on each (streaming/relay.py): the
    names are picked by channels_redis's placement, checked here against the layer itself."""
    hosts = redis_hosts({"REDIS_URL": "redis://a/0,redis://b/0,redis://c/0"}, 2.0)
    layer = RedisPubSubLoopLayer(hosts=hosts, prefix="plotserver")
    groups = group_on_each_shard(lambda n: f"relay-probe.viewer-relay.abc.{n}", 3, "plotserver")
    assert [layer._get_shard(layer._get_group_channel_name(group)) for group in groups] == layer._shards
