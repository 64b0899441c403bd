"""The ASGI application: pages and REST (Django), streams, viewer sockets, lifespan.

Serve it with uvicorn on httptools, with plotserver's timeouts and connection caps:
`uvicorn plotserver.asgi:application --http plotserver.http:GuardedHttpToolsProtocol`.
"""

import logging
import os
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, WebSocketScope

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plotserver.settings")

from django.core.asgi import get_asgi_application

# Django's app registry must be ready before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402
from django.utils.http import is_same_domain  # noqa: E402

from dashboards.routing import websocket_urlpatterns as dashboard_sockets  # noqa: E402
from plotserver import log_redaction  # noqa: E402
from plotserver.lifespan import Lifespan  # noqa: E402
from streaming.routing import StreamOrDjango, websocket_urlpatterns  # noqa: E402
from web.body_limit import BoundedBody  # noqa: E402

log = logging.getLogger("plotserver")


def socket_origin_allowed(host: str, origin: str | None) -> bool:
    """May a viewer socket opened on `host` from a page of `origin` (None: no browser) go on?

    The host must be one the server serves (ALLOWED_HOSTS). A browser always sends Origin: it
    must be that same host, or an origin listed in CSRF_TRUSTED_ORIGINS, so that a page on
    another site cannot read plots with a visitor's session. Clients that are not browsers send
    no Origin and carry no visitor's cookies.
    """
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    if origin is None:
        return True
    parsed = urlsplit(origin)
    if not parsed.scheme or not parsed.netloc:
        return False  # "null" (sandboxed frames, files) and other opaque origins
    if parsed.netloc.lower() == host.lower():
        return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        pattern = urlsplit(trusted)
        if pattern.scheme == parsed.scheme and (
            pattern.netloc.lower() == parsed.netloc.lower()
            or (pattern.netloc.startswith("*.") and is_same_domain(parsed.netloc.lower(), pattern.netloc[1:].lower()))
        ):
            return True
    return False


class SameOriginSocketValidator:
    """Admits a WebSocket only if `socket_origin_allowed`; denies it (403) otherwise."""

    # Channels' middleware stack, whose stubs type scopes with their own (private) TypedDicts.
    def __init__(self, application: Callable[..., Awaitable[None]]) -> None:
        self.application = application

    async def __call__(self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        host = origin = None
        for name, value in scope.get("headers", []):
            if name == b"host" and host is None:
                host = value.decode("latin-1")
            elif name == b"origin" and origin is None:
                origin = value.decode("latin-1")
        if socket_origin_allowed(host or "", origin):
            return await self.application(scope, receive, send)
        # The stubs type a consumer's scope with Channels' own TypedDict, not asgiref's.
        return await WebsocketDenier()(scope, receive, send)  # type: ignore[arg-type]


log_redaction.install()
if settings.ALLOWED_HOSTS_FROM_DEFAULT:
    log.warning(
        "ALLOWED_HOSTS is not set: serving only %s. Set ALLOWED_HOSTS to the names clients use "
        "to reach this server from other machines.",
        ", ".join(settings.ALLOWED_HOSTS),
    )
elif "*" in settings.ALLOWED_HOSTS:
    log.warning("ALLOWED_HOSTS=* answers any Host header: a forged one ends up in web_url and share links.")

application = ProtocolTypeRouter(
    {
        "http": StreamOrDjango(BoundedBody(django_asgi_app)),
        # Channels' stubs type the stack as an ASGI 2 or 3 app; it is an ASGI 3 one.
        "websocket": SameOriginSocketValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + dashboard_sockets))  # type: ignore[arg-type]
        ),
        "lifespan": Lifespan(),
    }
)
