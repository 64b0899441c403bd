"""Plotly's doors answer whatever Host header a Plotly client hard-codes.

Plotly's Arduino library sends `Host: 107.21.214.199` (Plotly's old address) whatever server it
connects to, and other clients send `plot.ly` or `api.plot.ly`. Django refuses a Host that is not
in ALLOWED_HOSTS (`request.get_host()` raises DisallowedHost, which CommonMiddleware asks first),
and builds every absolute URL from it. ALLOWED_HOSTS is there so that a forged Host never ends
up in a link; so on Plotly's doors only, a request whose Host is not allowed is taken as made to
PUBLIC_URL: its host and scheme are PUBLIC_URL's, and every URL of its answer (each built by
`build_absolute_uri`) names the public address, never the Host it was sent. A request whose
Host is allowed is left as it is. Every other path keeps Django's check. (The stream doors are
not Django's: they never read Host at all.)
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

# The paths of Plotly's REST doors: Chart Studio's v2 API (images and dashboards included), and
# the older /clientresp and /apigetfile.
PLOTLY_PREFIXES = ("/v2/", "/clientresp", "/apigetfile/")


def host_allowed(request: HttpRequest) -> bool:
    """Django's own rule (ALLOWED_HOSTS), asked the way Django asks it."""
    try:
        request.get_host()
    except DisallowedHost:
        return False
    return True


def take_as_public(request: HttpRequest) -> None:
    """Make `request` one addressed to PUBLIC_URL: its host is the public address's, and every
    URL built for its answer (`build_absolute_uri`) begins with PUBLIC_URL, scheme and all. Whether
    the request itself was secure is still what the connection says (`is_secure()`: the HTTPS
    redirect and cookies follow it, never the address). The operator configured that address, so
    it is not checked against ALLOWED_HOSTS."""
    public = urlsplit(settings.PUBLIC_URL)
    request.META["HTTP_HOST"] = public.netloc
    request.get_host = lambda: public.netloc  # type: ignore[method-assign]
    # Django's build_absolute_uri begins every URL with this (a cached property): set, it is
    # PUBLIC_URL's whatever scheme the request came with.
    request.__dict__["_current_scheme_host"] = f"{public.scheme}://{public.netloc}"


def from_a_browser(request: HttpRequest) -> bool:
    """A browser says where its request comes from (Fetch Metadata); Plotly's clients never do.
    A page that rebinds its own name to this server's address sends its own Host: it keeps
    Django's refusal, so a server on a private address is not read through another site's name."""
    return "HTTP_SEC_FETCH_SITE" in request.META or "HTTP_SEC_FETCH_MODE" in request.META


class PlotlyClientHostMiddleware:
    """On Plotly's doors, a Host that is not allowed is replaced by PUBLIC_URL's (see the module).

    First of the middleware: before anything asks for the host."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PLOTLY_PREFIXES) and not from_a_browser(request) and not host_allowed(request):
            take_as_public(request)
        return self.get_response(request)
