"""The `run` key of a stream line (docs/streaming.md, "Runs"): how it parses, how the stream's
writer numbers runs and stores each with its first update, in the same commit."""

from __future__ import annotations

import pytest

from core.models import Run
from core.protocol import LineRejected, parse_line
from tests.writers import commit_lines, open_writer


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (b'{"run": "new"}', ""),
        (b'{"run": {}}', ""),
        (b'{"run": {"name": "after lunch"}}', "after lunch"),
        (b'{"run": "new", "x": 1, "y": 2}', ""),
    ],
)
def test_a_run_key_names_the_run_the_line_starts(line, name):
    update = parse_line(line)
    assert update.run == name


def test_a_line_without_a_run_key_starts_no_run():
    assert parse_line(b'{"x": 1, "y": 2}').run is None


def test_a_run_lines_points_stay_its_own():
    assert parse_line(b'{"run": "new", "x": 1, "y": 2}').trace == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    "line",
    [
        b'{"run": true}',
        b'{"run": "again"}',
        b'{"run": {"title": "x"}}',
        b'{"run": {"name": 3}}',
        b'{"run": {"name": "' + b"n" * 101 + b'"}}',
        b'{"run": ["new"]}',
    ],
)
def test_any_other_run_value_rejects_the_line(line):
    with pytest.raises(LineRejected, match=r"^run: "):
        parse_line(line)


@pytest.mark.django_db
def test_the_writer_numbers_runs_on_from_the_stored_ones_and_stores_each_with_its_first_update(stream):
    _, token = stream
    commit_lines(open_writer(token), b'{"x": 1, "y": 1}', b'{"run": "new", "x": 2, "y": 2}')
    writer = open_writer(token)  # the next connection: its numbering goes on from the stored runs
    assert writer.run == 2
    sent = commit_lines(writer, b'{"x": 3, "y": 3}', b'{"run": {"name": "c"}}', b'{"run": "new"}')
    assert [update.get("run") for _, update in sent] == [None, {"number": 3, "name": "c"}, {"number": 4, "name": ""}]
    assert list(Run.objects.filter(token=token).values_list("number", "first_seq", "name")) == [
        (2, 2, ""),
        (3, 4, "c"),
        (4, 5, ""),
    ]


@pytest.mark.django_db
def test_a_chunk_stored_update_by_update_keeps_each_run_with_its_update(stream):
    _, token = stream
    writer = open_writer(token)
    for line in (b'{"x": 1}', b'{"run": "new", "x": 2}', b'{"x": 3}'):
        writer.accept(parse_line(line))
    *pieces, counts = writer.take_chunk(None).split()
    assert [piece.runs for piece in pieces] == [[], [(2, 2, "")], []]
    assert counts.runs == []
