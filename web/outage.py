"""What a request gets while the database cannot be reached: 503, JSON or a branded page.

The REST API's own exception handler (web/errors.py) answers its views; this middleware
answers everything else: the pages, and any API route whose error escaped DRF.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from base.refusals import refusal_body
from web.errors import RETRY_AFTER, database_unavailable_message
from web.plotly_api.hosts import PLOTLY_PREFIXES

logger = logging.getLogger("plotserver.outage")

API_PREFIXES = ("/api/", *PLOTLY_PREFIXES)


class DatabaseUnavailableMiddleware:
    """Turns a database connection failure in a view into a 503 with a message to act on."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
        message = database_unavailable_message(exception)
        if request.path.startswith(API_PREFIXES):
            response: HttpResponse = JsonResponse(refusal_body(message), status=503)
        else:
            # Rendered without the request: the page's usual context (the user) needs the database.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
