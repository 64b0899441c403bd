"""A TCP proxy of a test's own, which the test stops to make what is behind it unreachable.

Stopping it closes the listening socket and every connection through it, as a network cut
that refuses new connections would; starting it again on the same port restores the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harness.live_server import IntegrationDatabase, free_port
from tests.postgres import postgres_database


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def _run(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> TcpProxy:
        self._run(self._start())
        return self

    def stop(self) -> None:
        self._run(self._stop())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            self.writers.discard(writer)


@contextlib.contextmanager
def proxied_database(tmp_path: Path) -> Iterator[tuple[IntegrationDatabase, TcpProxy, str]]:
    """A PostgreSQL database of its own (tests/postgres.py), a proxy to it, and the database's URL
    through the proxy. The outage is a cut TCP connection, so these tests need PostgreSQL even when
    the suite runs on the embedded defaults."""
    with postgres_database(tmp_path) as database:
        direct = urlsplit(database.url)
        proxy = TcpProxy(direct.hostname, direct.port or 5432).start()
        netloc = direct.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{proxy.port}"
        try:
            yield database, proxy, urlunsplit(direct._replace(netloc=netloc))
        finally:
            proxy.close()
