"""Who holds a token's stream: the newest connection, under a row lock, renewed while it lives.

The holder is the token's only writer (streaming/pipeline.py numbers its updates in memory), so
every change of holder goes through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.utils import timezone

from core.models import StreamToken, Trace

# How long a stream counts as connected after its process last said so (see renew_leases).
LEASE = timedelta(seconds=10)

# How far a new writer's sequence numbers jump when the previous writer did not hand over
# (it crashed): past any number it may have sent viewers without storing. A writer holds at
# most a few hundred thousand updates unstored (pipeline.MAX_BACKLOG, twice, plus one read),
# so a viewer never sees a number twice; it sees a gap, and catch-up answers a snapshot.
SEQ_SKIP = 1_000_000


@dataclass(frozen=True)
class TokenState:
    id: int
    revoked: bool
    # The last plot it fed was deleted, and no trace uses it since: its streams are refused.
    plot_deleted: bool = False


def find_token(token: str) -> TokenState | None:
    row = StreamToken.objects.filter(token=token).values("pk", "revoked", "plot_deleted").first()
    if row is None:
        return None
    plot_deleted = row["plot_deleted"] is not None and not _clear_if_fed({row["pk"]})
    return TokenState(row["pk"], row["revoked"] is not None, plot_deleted)


def _clear_if_fed(marked: set[int]) -> set[int]:
    """Of these tokens marked for a deleted plot, the ones a trace uses again: their mark is
    cleared, so that a later edit leaving them unbound does not end their streams as deleted."""
    fed = set(Trace.objects.filter(stream_token_id__in=marked).values_list("stream_token_id", flat=True))
    if fed:
        StreamToken.objects.filter(pk__in=fed).update(plot_deleted=None)
    return fed


class Held(Exception):
    """A live connection holds the token's stream, and the caller would not take it over."""


def mark_connected(
    token_id: int, session_id: str, remote_addr: str, take_over: bool = True
) -> tuple[str, list[int]] | None:
    """Hold the token for this connection. Returns the connection that held it before ("" for
    none), which must be taken over, and the plots whose viewers should hear of the new one;
    None when the token was revoked meanwhile. With `take_over` false, Held when a connection
    whose lease still runs holds it (a run the API starts never ends a producer's stream).

    The hold is taken under a row lock, so of two connections that open at once, the second
    sees the first and takes over from it.
    """
    now = timezone.now()
    with transaction.atomic():
        token = StreamToken.objects.select_for_update().filter(pk=token_id, revoked__isnull=True).first()
        if token is None:
            return None
        if not take_over and token.holder and token.lease_until is not None and token.lease_until > now:
            raise Held
        previous = token.holder
        StreamToken.objects.filter(pk=token_id).update(
            connected=True,
            holder=session_id,
            remote_addr=remote_addr[:100],
            connected_since=now,
            lease_until=now + LEASE,
        )
    return previous, plots_of_token(token_id)


def plots_of_token(token_id: int) -> list[int]:
    return list(Trace.objects.filter(stream_token_id=token_id).values_list("plot_id", flat=True).distinct())


@dataclass(frozen=True)
class Renewed:
    """What a lease renewal found: streams that must end even if the message saying so never
    arrived (the channel layer was away)."""

    revoked: set[int]  # tokens revoked or deleted meanwhile
    lost: set[str]  # sessions that no longer hold their token: a newer connection took it over
    plot_deleted: set[int]  # tokens whose last plot was deleted meanwhile


def renew_leases(session_ids: list[str], token_ids: set[int]) -> Renewed:
    """The streams this process holds are still connected: one query for all of them (and one
    more only when a plot they fed was deleted)."""
    StreamToken.objects.filter(holder__in=session_ids).update(lease_until=timezone.now() + LEASE)
    rows = StreamToken.objects.filter(pk__in=token_ids).values_list("pk", "revoked", "holder", "plot_deleted")
    live = {pk for pk, revoked, _, _ in rows if revoked is None}
    holders = {holder for _, _, holder, _ in rows}
    marked = {pk for pk, revoked, _, deleted in rows if revoked is None and deleted is not None}
    fed = _clear_if_fed(marked) if marked else set()
    return Renewed(token_ids - live, set(session_ids) - holders, marked - fed)


def forget_connections(before: datetime) -> int:
    """Mark disconnected the streams a crashed process held: marked connected since before
    `before` (this process's start), their lease run out. A live process, this one's peer on
    the same database, renews its own leases, so its streams are never forgotten; a crashed
    one's lease ends within LEASE. Their next writer's numbers jump (SEQ_SKIP) past what the
    crashed one may have sent. Streams this process opened meanwhile are its own. Returns how
    many were forgotten."""
    since_before = models.Q(connected_since__lt=before) | models.Q(connected_since__isnull=True)
    lease_over = models.Q(lease_until__lt=timezone.now()) | models.Q(lease_until__isnull=True)
    return StreamToken.objects.filter(since_before, lease_over, connected=True).update(
        connected=False, holder="", last_seq=models.F("last_seq") + SEQ_SKIP
    )


def mark_disconnected(token_id: int, session_id: str, taken_over: bool) -> tuple[list[int], int]:
    """Clear the connection's hold, unless a newer connection holds the token already.

    Returns the plots whose viewers should hear that the stream is idle (none when a newer
    connection holds it), and the stream's last sequence number, which they should hold."""
    tokens = StreamToken.objects.filter(pk=token_id)
    if taken_over:
        tokens.update(takeovers=models.F("takeovers") + 1)
    released = tokens.filter(holder=session_id).update(connected=False, holder="")
    last_seq = tokens.values_list("last_seq", flat=True).first() or 0
    return (plots_of_token(token_id) if released else []), last_seq
