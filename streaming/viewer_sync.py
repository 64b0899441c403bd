"""How a viewer gets (back) in step: what it reads from the database, and until when.

Updates are published before they are committed, so what a viewer reads (a snapshot, or the
updates it missed) may be behind the live updates it holds meanwhile (streaming/viewer_held.py).
The sync reads again, backing off, until what it read covers them, for at most
VIEWER_GAP_TIMEOUT seconds; past it, what is stored is the truth, sent as a snapshot marked
resync. One read runs at a time; a reason to read that comes meanwhile reads again after it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import orjson
from channels.db import database_sync_to_async
from django.conf import settings

from streaming import snapshots
from streaming.viewer_messages import CatchUp, Snapshot

if TYPE_CHECKING:
    from streaming.viewer import ViewerSocket

log = logging.getLogger("plotserver.streaming")

# How a viewer gets (back) in step: what it reads from the database.
FIRST = "first"  # a first visit: a snapshot
SINCE = "since"  # coming back with a position: the missed updates, or a snapshot marked resync
GAP = "gap"  # a live update came after a hole: the missing updates, or a snapshot marked resync
SNAPSHOT = "snapshot"  # asked for by the client, or the plot was edited
RESYNC = "resync"  # it fell behind and lost its queue: a snapshot marked resync


def position_of(message: Snapshot | CatchUp) -> dict[str, int]:
    """The seq per stream that a snapshot or catch-up leaves its viewer holding."""
    if message["type"] == "snapshot":
        return {key: info["seq"] for key, info in message["streams"].items()}
    return {str(key): seq for key, seq in message["streams"].items()}


class ViewerSync:
    """One viewer's database reads, run by a task of their own; the viewer adopts what covers
    what it holds (`ViewerSocket.adopt`)."""

    def __init__(self, viewer: ViewerSocket) -> None:
        self.viewer = viewer
        self.loop = viewer.loop
        self.task: asyncio.Task[None] | None = None
        self.again: str | None = None

    def start(self, mode: str) -> None:
        if self.viewer.close_code is not None:
            return
        if self.task is not None and not self.task.done():
            self.again = mode  # what it is reading may predate this: read again
            return
        self.again = None
        self.task = asyncio.create_task(self._sync(mode))

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _stale(self) -> bool:
        """What was just read is of no use: another read was asked for, or the viewer dropped or closed."""
        viewer = self.viewer
        return self.again is not None or viewer.dropping or viewer.close_code is not None

    async def _sync(self, mode: str) -> None:
        viewer = self.viewer
        try:
            while True:
                self.again = None
                await self._sync_once(mode)
                if self.again is None or viewer.close_code is not None:
                    return
                mode = self.again
        except Exception:
            # This viewer's alone: it is closed, the relay and the other viewers go on.
            log.exception("viewer of plot %s: could not get in step", viewer.plot_id)
            viewer.close(1011)

    async def _sync_once(self, mode: str) -> None:
        viewer = self.viewer
        deadline = self.loop.time() + settings.VIEWER_GAP_TIMEOUT
        delay = 0.01
        while True:
            message = await self._read(mode)
            if self._stale():
                return
            if message is None:
                await self._close_unseen()
                return
            if viewer.held.overflowed:
                # Held updates were lost: only a snapshot read from now on can replace them.
                viewer.held.overflowed = False
                mode = RESYNC
                continue
            position = position_of(message)
            if viewer.held.covered_by(position):
                viewer.adopt(message, mode, position)
                return
            if self.loop.time() >= deadline:
                # They are not coming (their writer crashed before its commit): what is stored
                # is the truth now, sent as a snapshot marked resync.
                log.warning("viewer of plot %s: missing updates never came; sending what is stored", viewer.plot_id)
                message = await self._read(RESYNC)
                if self._stale():
                    return
                if message is None:
                    await self._close_unseen()
                    return
                viewer.adopt(message, RESYNC, position_of(message))
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def _close_unseen(self) -> None:
        """The plot can no longer be read for this viewer: a viewer that was shown it hears that
        it was deleted, if it was (telling it leaks nothing it did not see); any other, that
        there is no such plot or it is not shared with it."""
        viewer = self.viewer
        if viewer.revision is not None and not await database_sync_to_async(snapshots.plot_exists)(viewer.plot_id):
            viewer.close_deleted()
        else:
            viewer.close_not_shared()

    async def _read(self, mode: str) -> Snapshot | CatchUp | None:
        viewer = self.viewer
        if mode == SINCE:
            assert viewer.since is not None  # SINCE: the viewer came with a position
            try:
                since = orjson.loads(viewer.since)
            except orjson.JSONDecodeError:
                since = {}
            since = since if isinstance(since, dict) else {}
            return await database_sync_to_async(snapshots.catch_up)(
                viewer.plot_id, viewer.user, viewer.share_key, since, with_annotations=True
            )
        if mode == GAP:
            since = {"revision": viewer.revision, "streams": dict(viewer.seqs)}
            return await database_sync_to_async(snapshots.catch_up)(
                viewer.plot_id, viewer.user, viewer.share_key, since
            )
        message = await database_sync_to_async(snapshots.snapshot)(viewer.plot_id, viewer.user, viewer.share_key)
        if message is not None and mode == RESYNC:
            message["resync"] = True
        return message
