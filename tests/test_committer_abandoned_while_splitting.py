"""A commit that the database refused for its content is stored chunk by chunk; when the server
stops meanwhile and gives the database up (Abandoned), that is the end of the commit, not a
refusal of the next chunk: what was not stored is reported as not stored, never as stored.
(Before, the chunk-by-chunk loop took Abandoned for a refused chunk and went on, so the commit
ended as if it had stored its lines, and the producers' answers said none was lost.)"""

from __future__ import annotations

import asyncio

import pytest
from django.utils import timezone

from streaming import committer as committer_module
from streaming.committer import Abandoned, Committer
from streaming.stream_state import Chunk


@pytest.mark.asyncio
async def test_giving_the_database_up_while_storing_chunk_by_chunk_ends_the_commit_as_abandoned(monkeypatch):
    committer = Committer(asyncio.get_running_loop(), lambda: None, lambda annotations: None)
    calls = []

    def refuse_then_give_up(chunks, now):
        calls.append(len(chunks))
        committer.abandoned = True  # the server stopped and the database stayed away
        raise ValueError("a value the database cannot store")

    monkeypatch.setattr(committer_module.store, "commit_chunks", refuse_then_give_up)
    chunks = [
        Chunk(token_id=1, accepted=1, first_seq=1, last_seq=1),
        Chunk(token_id=2, accepted=1, first_seq=1, last_seq=1),
    ]
    try:
        with pytest.raises(Abandoned):
            await committer._commit(chunks, timezone.now())
    finally:
        committer._executor.shutdown(wait=True)
    assert calls == [2], "no chunk was tried alone once the database was given up"
