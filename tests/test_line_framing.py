"""LineFramer: lines are split on newlines, whatever the chunk boundaries; a line past the
limit is not held, and comes out as its length alone."""

from core.line_framing import LineFramer, TooLong


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


def sizes(lines: list) -> list:
    return [line.size if isinstance(line, TooLong) else line for line in lines]


def test_a_line_past_the_limit_is_dropped_as_it_arrives_and_told_at_its_newline():
    framer = LineFramer(8)
    assert framer.feed(b"12345678") == []
    assert framer.feed(b"9abc") == []  # past the limit: nothing of it is held any more
    assert not framer._partial
    assert sizes(framer.feed(b"def\nok\n")) == [15, b"ok"]


def test_a_long_line_within_one_chunk_is_told_too():
    assert sizes(LineFramer(8).feed(b"ok\n123456789\nok\n")) == [b"ok", 9, b"ok"]


def test_a_line_of_exactly_the_limit_is_a_line():
    framer = LineFramer(8)
    assert framer.feed(b"1234") == []
    assert framer.feed(b"5678\n") == [b"12345678"]


def test_a_long_last_line_without_newline_is_told_at_the_end():
    framer = LineFramer(8)
    framer.feed(b"ok\n1234567890")
    assert sizes([framer.finish()]) == [10]
    assert framer.finish() == b""
