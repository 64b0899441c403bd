"""Who is calling: HTTP Basic with `username:api_key` (Plotly's convention for its REST API),
`Authorization: Bearer api_key` (or `Token api_key`), and the login page; all throttle failed
attempts per client address."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.models import ApiKey


class SignedInRequest(HttpRequest):
    """The request of a page behind `login_required`: its user is signed in (for type checking)."""

    user: User


class SignedInApiRequest(Request):
    """The request of an API view that requires authentication: its user is signed in."""

    user: User


class AuthFailureThrottle(SimpleRateThrottle):
    """Failed sign-ins (a wrong API key or password) per client address: THROTTLE_AUTH_FAILURES.

    Only failures count, so a client with the right key is never slowed. Past the rate every
    attempt from that address is refused (429) without being checked, until the window moves.
    Counts live in Django's cache: per process with the default in-memory cache.
    """

    scope = "auth_failures"
    # Set by SimpleRateThrottle.__init__ from the rate (always set here); the stubs leave them out.
    num_requests: int
    duration: int

    def get_rate(self) -> str:
        return settings.THROTTLE_AUTH_FAILURES

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def exhausted(self, request) -> bool:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [at for at in self.cache.get(self.key, []) if at > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        if not self.exhausted(request):
            self.history.insert(0, self.now)
            self.cache.set(self.key, self.history, self.duration)

    def refusal(self) -> str:
        wait = self.wait() or self.duration
        return f"Too many failed sign-ins from your address; try again in {wait:.0f} seconds (THROTTLE_AUTH_FAILURES)."


# The schemes of `Authorization` that carry the API key alone.
KEY_SCHEMES = (b"bearer", b"token")


def user_for_key(request, username: str | None, key: str):
    """The active user whose API key this is (with their username, or alone: None), or None;
    raises Throttled past the failure rate."""
    throttle = AuthFailureThrottle()
    if throttle.exhausted(request):
        raise exceptions.Throttled(wait=throttle.wait(), detail=throttle.refusal())
    user = ApiKey.user_for_key(key) if username is None else ApiKey.user_for(username, key)
    if user is None:
        throttle.record_failure(request)
    return user


class ThrottledAuthenticationForm(AuthenticationForm):
    """The login form; `refusal` set, it refuses without checking the password."""

    refusal = ""

    def clean(self):
        if self.refusal:
            raise ValidationError(self.refusal, code="throttled")
        return super().clean()


class ThrottledLoginView(LoginView):
    """Django's login page, refusing (429) an address past THROTTLE_AUTH_FAILURES wrong passwords."""

    form_class = ThrottledAuthenticationForm

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        throttle = AuthFailureThrottle()
        if self.request.method == "POST" and throttle.exhausted(self.request):
            form.refusal = throttle.refusal()
        return form

    def form_invalid(self, form):
        if form.refusal:
            return self.render_to_response(self.get_context_data(form=form), status=429)
        AuthFailureThrottle().record_failure(self.request)
        return super().form_invalid(form)


def login_url(request) -> str:
    """The login page, leading back to this request's address once logged in."""
    return f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"


def missing_credentials_message(request) -> str:
    """What a request without credentials that plotserver reads is told to send instead."""
    login = request.build_absolute_uri(login_url(request))
    header = get_authorization_header(request).split()
    unread = f"`Authorization: {header[0].decode('latin-1')} ...` is not a scheme plotserver reads. " if header else ""
    return (
        f"{unread}Send your API key as `Authorization: Bearer API_KEY`, or with your username as HTTP Basic"
        f" (`curl -u USERNAME:API_KEY`), or log in at {login}. Make a key on your settings page or with"
        " `python manage.py apikey USERNAME`."
    )


class ApiKeyAuthentication(BasicAuthentication):
    """Basic auth whose password is the user's API key, or the key alone as `Bearer` (or `Token`).

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
        scheme, _, key = header.partition(b" ")
        if scheme.lower() in KEY_SCHEMES:
            return self._from_key(key.strip(), request)
        if scheme.lower() != b"basic":
            return None
        return self._from_header(header, request)

    def _from_key(self, key: bytes, request):
        if not key or b" " in key:
            raise exceptions.AuthenticationFailed("Authorization must be `Bearer API_KEY`, the key alone.")
        try:
            return self.authenticate_credentials(None, key.decode("ascii"), request)
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("An API key is ASCII letters, digits, '-' and '_'.") from None

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
        user = user_for_key(request, userid, password)
        if user is None:
            wrong = "Invalid username or API key" if userid is not None else "Invalid API key"
            raise exceptions.AuthenticationFailed(
                f"{wrong}. Make a key on your settings page or with `python manage.py apikey USERNAME`."
            )
        return (user, None)
