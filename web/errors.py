"""One shape for every API error: `{"message": ..., "errors": [{"message": ..., "field": ...}]}`,
built by base/refusals.py's `refusal_body`, as every refusal is.

`errors[].message` is also what Plotly's clients read from an error body.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.http import HttpResponseRedirect
from psycopg_pool import PoolTimeout, TooManyRequests
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, NotAuthenticated, UnsupportedMediaType
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from base.database import reachability
from base.refusals import refusal_body
from web.authentication import login_url, missing_credentials_message

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
    # Said with what to send instead; the exception itself is kept (DRF set its 401 or 403 and
    # WWW-Authenticate on it). A browser opening the browsable API is sent to log in, and back.
    request = context.get("request")
    if request is not None and isinstance(exc, NotAuthenticated):
        renderer = getattr(request, "accepted_renderer", None)
        if request.method == "GET" and isinstance(renderer, BrowsableAPIRenderer):
            return HttpResponseRedirect(login_url(request))
        exc.detail = ErrorDetail(missing_credentials_message(request), exc.default_code)
    elif request is not None and isinstance(exc, UnsupportedMediaType):
        sent = request.content_type or "of no declared type"
        exc.detail = ErrorDetail(
            f"The body is {sent}; send JSON, with `Content-Type: application/json`.", exc.default_code
        )
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
