"""A line protocol payload's points are its token's lines in the payload's order (the HTTP
write groups them by series; a message feeds one token, so its order is the stream's)."""

from __future__ import annotations

from mqtt.payloads import lines_of


def test_line_protocol_points_come_in_the_payloads_order_a_lines_fields_in_turn():
    payload = b"temp,room=a c=1 1000\ntemp,room=b c=2 2000\ntemp,room=a c=3,f=4 3000\nhum,room=a h=5 4000"
    ys = [line.rsplit(b'"y":', 1)[1].rstrip(b"}") for line in lines_of(payload, 0, 1 << 16).lines]
    assert ys == [b"1.0", b"2.0", b"3.0", b"4.0", b"5.0"]
