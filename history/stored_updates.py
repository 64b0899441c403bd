"""One plot's updates in a stream's stored rows (core/models/streams.py StreamChunk), the one
query that reads them for history: range reads and downloads (history/range_reads.py) and the
folding job (history/folding.py) page through it.

Only that plot's part of each row crosses from the database, as JSON text, which orjson then
decodes (much faster than the ORM's json); pages follow the (token, last_seq) index.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from core.models import StreamChunk


def plot_update_rows(
    token_id: int, plot_id: int, after: int, limit: int, upto: int | None = None
) -> list[tuple[int, int, datetime | str, str | None]]:
    """Up to `limit` of the stream's rows with `last_seq` after `after` (and at most `upto`, when
    given), oldest first: (first_seq, last_seq, time as stored, the plot's updates as JSON
    text, None when the row has none of them). `aware` reads the time."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        part = "(plots -> %s -> 'updates')::text"
    else:
        part = "json_extract(plots, '$.\"' || %s || '\".updates')"
    where = "token_id = %s AND last_seq > %s"
    params: list[int | str] = [str(plot_id), token_id, after]
    if upto is not None:
        where += " AND last_seq <= %s"
        params.append(upto)
    sql = (
        f"SELECT first_seq, last_seq, {quote('time')}, {part} FROM {quote(StreamChunk._meta.db_table)}"
        f" WHERE {where} ORDER BY last_seq LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return cursor.fetchall()


def page_end(token_id: int, after: int, limit: int, updates: int) -> int | None:
    """The `last_seq` up to which a page of the stream's rows after `after` holds about `updates`
    updates (at least one row, at most `limit`): how a reader keeps a page bounded in points when
    a fast stream stores hundreds of updates a row. None when there is no row after `after`.
    Reads the rows' sequence numbers only, from the (token, last_seq) index."""
    spans = StreamChunk.objects.filter(token_id=token_id, last_seq__gt=after).order_by("last_seq")
    held, end = 0, None
    for first_seq, last_seq in spans.values_list("first_seq", "last_seq")[:limit]:
        end = last_seq
        held += last_seq - first_seq + 1
        if held >= updates:
            break
    return end


def aware(value: datetime | str) -> datetime:
    """A row's time as an aware datetime (SQLite gives it back as text, without a zone)."""
    parsed = parse_datetime(value) if isinstance(value, str) else value
    assert parsed is not None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
