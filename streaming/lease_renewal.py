"""Lease renewal: every few seconds, the leases of the streams this process holds are renewed.

The same trip to the database ends the streams whose token was revoked (or whose last plot was
deleted), or whose row another
connection holds, whether or not the message that says so (streaming/stream_control.py)
reached this process: the database is the fallback of the control channel.
"""

from __future__ import annotations

import asyncio
import logging

from base.rate_limited_log import RateLimitedLog
from streaming import leases
from streaming.committer import Committer
from streaming.stream_control import StreamControl

log = logging.getLogger("plotserver.streaming")


class LeaseRenewal:
    """Renews the leases of the streams `control` holds, on the committer's database thread."""

    def __init__(self, control: StreamControl, committer: Committer) -> None:
        self.control = control
        self.committer = committer
        self._failures = RateLimitedLog(log)

    async def run(self) -> None:
        """Every third of a lease: renew the leases of the streams held here, and end those whose
        token was revoked, whether or not the revocation's message reached this process."""
        period = leases.LEASE.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            await self.control.rejoin()
            holding = self.control.holding()
            if not holding:
                continue
            try:
                renewed = await self.committer.run_sync(
                    leases.renew_leases, [s.session_id for s in holding], {s.token_id for s in holding}
                )
            except Exception:
                self._failures.warning("lease", f"could not renew the leases of {len(holding)} streams", exc_info=True)
                continue
            for session in holding:
                if session.token_id in renewed.revoked:
                    session.kick(410)
                elif session.token_id in renewed.plot_deleted:
                    session.kick(410, plot_deleted=True)
                elif session.session_id in renewed.lost and session.holding:
                    session.kick(409)  # a newer connection holds the row: its message was lost
