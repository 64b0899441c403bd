"""Which requests on the main port are streams: the one rule the router (streaming/routing.py)
and the HTTP protocol (plotserver/http.py, whose body timeout a stream's body is spared) share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TOKEN_HEADER = "plotly-streamtoken"
TOKEN_HEADER_BYTES = TOKEN_HEADER.encode()


def stream_token_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The `plotly-streamtoken` of an ASGI request's headers, if it carries one."""
    for name, value in headers:
        if name.lower() == TOKEN_HEADER_BYTES:
            return value.decode("latin-1").strip()
    return None


def is_stream(scope: Mapping[str, object]) -> bool:
    """Any request that carries `plotly-streamtoken`, on any path, is a stream; so is a POST to `/`
    without it: a stream whose lines name their token (Plotly's Arduino library), or a producer
    that forgot the header, answered all the same. Plotly's clients post to `/`, which is also the
    plot list page; the header or the method tells them apart."""
    if scope.get("method") == "POST" and scope.get("path") == "/":
        return True
    headers = scope.get("headers", ())
    return stream_token_of(headers) is not None  # type: ignore[arg-type]
