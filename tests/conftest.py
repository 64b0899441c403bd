"""Shared fixtures: personas for in-process tests, real servers for integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from harness.live_server import ROOT, Api, IntegrationDatabase, LiveServer, new_user
from harness.mosquitto import MOSQUITTO, MOSQUITTO_PASSWD, Mosquitto
from harness.producer import StreamingPlot, open_streaming_plot
from tests.postgres import postgres_database

# Browser fixtures (browser, page, member) and Redis servers of a test's own (sentinel_masters,
# two_shards) live in their own modules.
pytest_plugins = ["tests.browser", "tests.redis_topology"]

ARTIFACTS = ROOT / "test-artifacts"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests marked `long` (a minute or more of one process) first in each process's share.

    pytest-xdist's worksteal hands each of its N processes a run of the collected tests in
    order, and a process that runs out takes half of another's rest. A long test left near the
    end of a share runs alone while the others are done; so each share starts with its part of
    the long ones. The order is the same in every process (xdist requires it)."""
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if processes < 2:
        return
    long: list[list[pytest.Item]] = [[] for _ in range(processes)]
    rest = [item for item in items if not item.get_closest_marker("long")]
    for n, item in enumerate(item for item in items if item.get_closest_marker("long")):
        long[n % processes].append(item)
    share = -(-len(rest) // processes)
    items[:] = [item for n in range(processes) for item in (*long[n], *rest[n * share : (n + 1) * share])]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, dropped at the end even when a thread of an in-process
    test still holds a connection to it: PostgreSQL refuses to drop a database in use, and the
    database would be left behind with a warning."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_history_places():
    """Each in-process test starts with every history-read place free: a test client's download
    left unread holds its place until it is garbage-collected (history/admission.py)."""
    from history import admission

    admission.PLACES = admission.Places()


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Each in-process test starts with no throttle counts (they live in Django's cache)."""
    from django.core.cache import cache

    cache.clear()


# -- in-process personas (pytest-django) ---------------------------------------------------


@pytest.fixture
def alice(django_user_model):
    """The owner of the things under test."""
    return django_user_model.objects.create_user("alice", password="alice-password")


@pytest.fixture
def bob(django_user_model):
    """Another user, who owns nothing of alice's."""
    return django_user_model.objects.create_user("bob", password="bob-password")


@pytest.fixture
def alices_plot(alice):
    """A public plot of alice's, one trace (maxpoints 100) fed by one stream token: `plot.token`."""
    from core.models import Plot, StreamToken, Trace

    plot = Plot.objects.create(owner=alice, sharing=Plot.PUBLIC)
    token = StreamToken.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={"x": [], "y": []}, stream_token=token, maxpoints=100)
    plot.token = token
    return plot


@pytest.fixture
def as_alice(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def as_bob(bob) -> APIClient:
    client = APIClient()
    client.force_authenticate(bob)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


# -- real servers ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def integration_db(tmp_path_factory):
    """A migrated database that server subprocesses share (SQLite file or PostgreSQL)."""
    database = IntegrationDatabase(tmp_path_factory.mktemp("integration"))
    yield database
    database.drop()


@pytest.fixture
def own_database(tmp_path):
    """A PostgreSQL database of the test's own, beside DATABASE_URL's (skipped, or failed in CI,
    without PostgreSQL): for tests that count or lock the server's connections."""
    with postgres_database(tmp_path) as database:
        yield database


@pytest.fixture
def postgres_db(request, integration_db):
    """PostgreSQL for a test's servers whatever the suite runs on: the session's integration
    database when it is PostgreSQL (migrated once), else own_database."""
    if integration_db.admin_url is not None:
        return integration_db
    return request.getfixturevalue("own_database")


@pytest.fixture(scope="session")
def server(integration_db, artifacts):
    """One uvicorn server for the whole session, with the default settings but one.

    Every test talks to it from 127.0.0.1, and several send wrong API keys on purpose; with the
    default THROTTLE_AUTH_FAILURES (20 a minute per address) those add up and a later test's
    login is refused. The throttle has a server of its own in tests/test_auth_throttling.py.

    A takeover waits up to STREAM_TAKEOVER_TIMEOUT for the older connection to hand over, then
    takes it for crashed and makes numbering jump; the tests that check numbering goes on
    without a jump give it 10 s instead of 1 s, a margin that a loaded machine cannot use up.
    (No holder on this server ever crashes, so nothing else waits for it.)"""
    env = {**integration_db.env, "THROTTLE_AUTH_FAILURES": "100000/min", "STREAM_TAKEOVER_TIMEOUT": "10"}
    server = LiveServer(env, artifacts).start()
    yield server
    server.stop()


@pytest.fixture
def start_server(integration_db, artifacts):
    """Start servers of a test's own, with extra environment; all are stopped afterwards."""
    servers: list[LiveServer] = []

    def start(name: str = "server", extra_args: tuple = (), **env: str) -> LiveServer:
        server = LiveServer({**integration_db.env, **env}, artifacts, name=name, extra_args=extra_args)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop(timeout=30)


@pytest.fixture
def producer(integration_db, server) -> Api:
    """A user of the live server with an API key: makes tokens and plots, streams to them."""
    return new_user(integration_db.env, server.url)


@pytest.fixture
def streaming_plot(server, producer):
    """`streaming_plot(**options)`: the producer's new plot of one trace, fed by a stream open on
    the shared server with its first point stored (options: harness.producer.open_streaming_plot).
    Streams still open at the end of the test are closed."""
    opened: list[StreamingPlot] = []

    def open_one(**options) -> StreamingPlot:
        opened.append(open_streaming_plot(producer, server.port, **options))
        return opened[-1]

    yield open_one
    for each in opened:
        each.stream.close()


@pytest.fixture
def visitor(server) -> Api:
    """An anonymous visitor of the live server."""
    return Api(server.url)


# -- in process (tests/asgi_clients.py) ----------------------------------------------------


@pytest.fixture
async def stream_pipeline():
    """The ingest pipeline of this test's event loop, started first and shut down after the test
    (its last commits done, its database connections closed, which a transactional test's
    teardown would otherwise wait for)."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    from streaming.pipeline import get_pipeline

    pipeline = await get_pipeline()
    yield pipeline
    await pipeline.shutdown()
    await sync_to_async(connections.close_all)()


@pytest.fixture
def stream(alice):
    """A plot of alice's with one trace bound to a stream token of hers: (plot, token)."""
    from core.models import Plot, StreamToken, Trace

    plot = Plot.objects.create(owner=alice)
    token = StreamToken.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0, spec={"x": [], "y": []}, stream_token=token)
    return plot, token


@pytest.fixture
async def pipeline():
    """A pipeline of the test's own (not the process's), shut down and its connections closed
    after the test (this thread's connection would hold the test database)."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    from streaming.pipeline import Pipeline

    pipeline = Pipeline()
    await pipeline.start()
    yield pipeline
    await pipeline.shutdown()
    await sync_to_async(connections.close_all)()


@pytest.fixture
def make_mosquitto(tmp_path):
    """`make_mosquitto(**options)`: a real mosquitto broker of the test's own, started
    (harness/mosquitto.py's options); skipped without mosquitto, failed under CI. Stopped after."""
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed, and CI must run every test (.ci/run installs it)")
        pytest.skip("needs mosquitto and mosquitto_passwd (Debian's mosquitto and mosquitto-clients)")
    brokers: list[Mosquitto] = []

    def make(**options) -> Mosquitto:
        brokers.append(Mosquitto(tmp_path, **options).start())
        return brokers[-1]

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def mosquitto(make_mosquitto) -> Mosquitto:
    """A real mosquitto broker of the test's own, with a user and password."""
    return make_mosquitto()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, str]:
    """A test certificate authority ("ca") and a certificate it signed for 127.0.0.1 and
    localhost ("cert", "key"), as PEM files."""
    import trustme

    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": folder / "ca.pem", "key": folder / "key.pem", "cert": folder / "cert.pem"}
    ca.cert_pem.write_to_path(files["ca"])
    cert.private_key_pem.write_to_path(files["key"])
    for position, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(files["cert"], append=position > 0)
    return {name: str(path) for name, path in files.items()}


@pytest.fixture
def mqtt_server(start_server, mosquitto) -> LiveServer:
    """A server subscribed to `mosquitto`: topics read again every half second, and a broker
    that went away tried again every second at most."""
    return start_server("mqtt", MQTT_URL=mosquitto.url(), MQTT_RELOAD_EVERY="0.5", MQTT_RECONNECT_MAX="1")
