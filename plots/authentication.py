"""HTTP Basic with `username:api_key`, Plotly's convention for its REST API."""

from __future__ import annotations

import base64
import binascii

from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, get_authorization_header

from plots.models import ApiKey


class ApiKeyAuthentication(BasicAuthentication):
    """Basic auth whose password is the user's API key.

    Plotly's clients send the same credentials in `plotly-authorization` when a proxy needs
    `authorization` for itself; that header is read first.
    """

    www_authenticate_realm = "plotserver"

    def authenticate_header(self, request):
        # A browser asking for a page gets the browsable API's 403 page with a login link, not
        # a Basic-auth popup; API clients keep their 401 with WWW-Authenticate.
        if "text/html" in request.META.get("HTTP_ACCEPT", ""):
            return None
        return super().authenticate_header(request)

    def authenticate(self, request):
        plotly_header = request.META.get("HTTP_PLOTLY_AUTHORIZATION")
        if plotly_header:
            return self._from_header(plotly_header.encode("latin-1"), request)
        header = get_authorization_header(request)
        if not header.lower().startswith(b"basic "):
            return None
        return self._from_header(header, request)

    def _from_header(self, header: bytes, request):
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != b"basic":
            raise exceptions.AuthenticationFailed("Authorization must be Basic base64(username:api_key).")
        try:
            username, _, key = base64.b64decode(parts[1]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Authorization is not valid base64 of username:api_key.") from None
        return self.authenticate_credentials(username, key, request)

    def authenticate_credentials(self, userid, password, request=None):
        user = ApiKey.user_for(userid, password)
        if user is None:
            raise exceptions.AuthenticationFailed(
                "Invalid username or API key. Make a key on your settings page or with "
                "`python manage.py apikey USERNAME`."
            )
        return (user, None)
