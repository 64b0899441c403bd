"""One shape for every API error: `{"message": ..., "errors": [{"message": ..., "field": ...}]}`,
built by base/refusals.py's `refusal_body`, as every refusal is.

`errors[].message` is also what Plotly's clients read from an error body.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout, TooManyRequests
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from base.database import reachability
from base.refusals import refusal_body

DATABASE_UNAVAILABLE = "The database is unavailable right now; nothing was changed. Try again in a few seconds."
DATABASE_BUSY = (
    "Every database connection of this server is in use (DATABASE_POOL_SIZE); nothing was changed."
    " Try again in a few seconds."
)
# Seconds a client is asked to wait before trying again after a 503.
RETRY_AFTER = 5


def json_exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable_response(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    errors = flatten_errors(response.data)
    response.data = refusal_body(errors[0]["message"] if errors else "Request failed.", errors)
    return response


def database_unavailable_message(exc: Exception) -> str:
    """Why a database error means 503: every connection of the pool is in use, or none can be made."""
    if isinstance(exc.__cause__, TooManyRequests):
        return DATABASE_BUSY
    if isinstance(exc.__cause__, PoolTimeout) and not reachability.failing():
        return DATABASE_BUSY
    return DATABASE_UNAVAILABLE


def database_unavailable_response(exc: Exception) -> Response:
    """503, the documented answer while the database cannot be reached or is fully in use."""
    message = database_unavailable_message(exc)
    return Response(
        refusal_body(message),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER)},
    )


def flatten_errors(data) -> list[dict[str, str]]:
    """DRF's nested errors (dicts and lists of messages) as a flat list, each naming its field."""
    return list(_flatten(data))


def _flatten(data, field: str = ""):
    # Error structures follow the request's shape, whose depth the parser bounds
    # (web/parsers.py), so recursion here is shallow.
    if isinstance(data, dict):
        if set(data) == {"detail"} and not field:
            yield {"message": str(data["detail"])}
            return
        for key, value in data.items():
            yield from _flatten(value, f"{field}.{key}" if field else str(key))
    elif isinstance(data, list):
        for position, value in enumerate(data):
            if isinstance(value, (dict, list)):
                yield from _flatten(value, f"{field}[{position}]" if field else str(position))
            else:
                yield from _flatten(value, field)
    else:
        message = str(data)
        yield {
            "message": f"{field}: {message}" if field and field != "non_field_errors" else message,
            **({"field": field} if field and field != "non_field_errors" else {}),
        }
