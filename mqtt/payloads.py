"""What an MQTT message's payload is as lines of its token's stream. Pure: no I/O.

Three forms, told apart by their first byte and shape (docs/ingest.md, "MQTT"):
a JSON object is one stream line as a producer writes it; a bare JSON number is y, with the
arrival time as x; anything else is InfluxDB line protocol, read and mapped as the HTTP writes
are (lineproto/points.py), each field of each line one point {"x": its time, "y": its value}.
The ingest core then takes these lines as any producer's: what it refuses, it counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lineproto.points import quoted, read_batch, x_of

# A number as JSON writes it: what the core would read as y.
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


@dataclass(slots=True)
class Lines:
    """A message's stream lines, and why each part of it that is no line was rejected."""

    lines: list[bytes] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def lines_of(payload: bytes, now_ns: int, max_bytes: int) -> Lines:
    """The stream lines of one message that arrived at `now_ns`, a payload over `max_bytes`
    rejected whole. An empty payload (how a retained message is cleared) is no line."""
    if len(payload) > max_bytes:
        too_long = f"the message is {len(payload)} bytes, longer than MQTT_MAX_MESSAGE_BYTES ({max_bytes})"
        return Lines(rejected=[too_long])
    text = payload.strip()
    if not text:
        return Lines()
    if text.startswith(b"{"):
        # JSON strings hold no raw line breaks, so a pretty-printed object is the same object
        # on one line: the core reads it, as it reads a producer's line.
        return Lines([text.replace(b"\r", b" ").replace(b"\n", b" ")])
    if _NUMBER.fullmatch(text):
        return Lines([b'{"x":"%s","y":%s}' % (x_of(now_ns, "ms").encode(), text)])
    batch = read_batch(text, "ns", now_ns)
    lines = Lines(rejected=[f"not JSON, a number or line protocol: {reason}" for _, reason in batch.errors])
    # The payload's order (the batch groups its lines by series): a line's fields in turn.
    numbered = sorted((point for points in batch.points.values() for point in points), key=lambda point: point[0])
    lines.lines.extend(line for _, line in numbered)
    if not lines.lines and not lines.rejected:  # only comments
        lines.rejected.append(f"not JSON, a number or line protocol: {quoted(text.decode(errors='replace'))!r}")
    return lines
