"""LineFramer: lines are split on newlines, whatever the chunk boundaries."""

from core.protocol import LineFramer


def test_it_splits_one_chunk_into_its_lines():
    assert LineFramer(100).feed(b'{"x":1}\n{"x":2}\n') == [b'{"x":1}', b'{"x":2}']


def test_it_joins_a_line_split_across_chunks():
    framer = LineFramer(100)
    assert framer.feed(b'{"x"') == []
    assert framer.feed(b":1}\n{") == [b'{"x":1}']
    assert framer.feed(b'"y":2}\n') == [b'{"y":2}']


def test_it_keeps_blank_lines_for_heartbeats():
    assert LineFramer(100).feed(b"\n\n") == [b"", b""]


def test_it_keeps_the_last_unterminated_line_for_finish():
    framer = LineFramer(100)
    framer.feed(b'{"x":1}\n{"x":2}')
    assert framer.finish() == b'{"x":2}'
    assert framer.finish() == b""


def test_it_overflows_when_a_line_outgrows_the_limit():
    framer = LineFramer(8)
    framer.feed(b"12345678")
    assert not framer.overflow
    framer.feed(b"9")
    assert framer.overflow


def test_a_newline_clears_the_overflow():
    framer = LineFramer(8)
    framer.feed(b"12345")
    assert framer.feed(b"678\n") == [b"12345678"]
    assert not framer.overflow
