"""What a viewer holds while it gets in step, and the live updates it had to let go.

Updates are published before they are committed, so a snapshot or catch-up read from the
database may be behind the live updates that follow it: the viewer holds those live updates
(bounded in bytes) until what it read covers the updates before them. Updates it lets go (its
holding or its send queue overflowed) are remembered by their last seq per stream: the snapshot
that replaces them must cover them, since nothing would bring them after.
"""

from __future__ import annotations

from streaming.events import StreamUpdate
from streaming.relay import Frame, UpdateBatch

# What a viewer holds while it gets in step: presence frames, and batches of live updates
# (the updates still to check, and the batch when it may still be taken whole).
HeldEntry = Frame | tuple[tuple[tuple[str, int, StreamUpdate], ...], UpdateBatch | None]


class HeldUpdates:
    """A viewer's held entries, within `limit` bytes, and the newest seqs it let go per stream."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: list[HeldEntry] = []
        self.size = 0
        # Too much arrived while a sync ran: what was held was let go, and only a snapshot read
        # from then on can replace it.
        self.overflowed = False
        # The last seq per stream of live updates this viewer let go (its queue or its held
        # updates overflowed): the snapshot that replaces them must cover them.
        self.let_go_seqs: dict[str, int] = {}

    def hold(self, entry: HeldEntry, size: int) -> None:
        if not self.overflowed:
            self.size += size
            if self.size <= self.limit:
                self.entries.append(entry)
                return
            # Too much arrived while its sync ran: the sync reads a newer snapshot instead.
            self.let_go_all()
            self.overflowed = True
        self._let_go_entry(entry)

    def let_go_all(self) -> None:
        """Let go of every held entry (remembering its updates' seqs)."""
        for held in self.entries:
            self._let_go_entry(held)
        self.entries.clear()
        self.size = 0

    def _let_go_entry(self, entry: HeldEntry) -> None:
        if isinstance(entry, Frame):
            return
        items, batch = entry
        # A whole batch knows its last seqs already: no walk over its updates per viewer.
        self.let_go(batch.lasts if batch is not None else {key: seq for key, seq, _ in items})

    def let_go(self, lasts: dict[str, int]) -> None:
        """Remember the newest updates dropped: updates are published before they are committed,
        so a snapshot read at once may not hold them yet, and nothing would bring them after."""
        let_go = self.let_go_seqs
        for key, seq in lasts.items():
            if seq > let_go.get(key, 0):
                let_go[key] = seq

    def covered_by(self, position: dict[str, int]) -> bool:
        """Whether `position` holds every update let go, and the held updates follow it without
        a hole."""
        if any(position.get(key, 0) < seq for key, seq in self.let_go_seqs.items()):
            return False
        seen: set[str] = set()
        for entry in self.entries:
            if isinstance(entry, Frame):
                continue
            for key, seq, _ in entry[0]:
                if key in seen:
                    continue
                seen.add(key)
                have = position.get(key)
                if have is None or have < seq - 1:
                    return False
        return True

    def take(self) -> list[HeldEntry]:
        """The viewer is in step at a position that covers what was let go: the held entries, to
        send after what was read; nothing is held or let go any more."""
        entries = self.entries
        self.entries, self.size, self.let_go_seqs = [], 0, {}
        return entries
