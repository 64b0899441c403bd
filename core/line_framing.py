"""How the bytes of a stream become lines: one small stateful framer, bounded, no I/O
(core/protocol.py parses the lines)."""

from __future__ import annotations


class TooLong:
    """A line longer than the framer's limit: dropped as it arrived, only its length kept."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class LineFramer:
    """Splits a byte stream into lines on `\n`, whatever the chunk boundaries.

    A line longer than `max_line_bytes` is not held: its bytes are dropped as they arrive, and it
    comes out as a TooLong (its length) at its newline, to be rejected alone. So one producer's
    line without end costs the server nothing, and the lines after it are read as usual.
    """

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._partial = bytearray()
        self._dropped = 0  # bytes of a too-long line dropped so far (0: none)

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        limit = self.max_line_bytes
        start = 0
        lines: list[bytes | TooLong] = []
        while (end := data.find(b"\n", start)) != -1:
            if self._dropped:
                lines.append(TooLong(self._dropped + end - start))
                self._dropped = 0
            elif self._partial:
                self._partial += data[start:end]
                size = len(self._partial)
                lines.append(bytes(self._partial) if size <= limit else TooLong(size))
                self._partial.clear()
            else:
                lines.append(data[start:end] if end - start <= limit else TooLong(end - start))
            start = end + 1
        rest = len(data) - start
        if self._dropped:
            self._dropped += rest
        elif len(self._partial) + rest > limit:
            self._dropped = len(self._partial) + rest
            self._partial.clear()
        else:
            self._partial += data[start:]
        return lines

    def finish(self) -> bytes | TooLong:
        """What is left after the stream ended cleanly: a last line that had no newline."""
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            return TooLong(dropped)
        rest = bytes(self._partial)
        self._partial.clear()
        return rest
