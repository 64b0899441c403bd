"""The ASGI application: pages and REST (Django), streams, viewer sockets, lifespan.

Serve it with uvicorn and httptools: `uvicorn plotserver.asgi:application --http httptools`.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plotserver.settings")

from django.core.asgi import get_asgi_application

# Django's app registry must be ready before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from plots.body_limit import BoundedBody  # noqa: E402
from streaming.lifespan import Lifespan  # noqa: E402
from streaming.routing import StreamOrDjango, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": StreamOrDjango(BoundedBody(django_asgi_app)),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": Lifespan(),
    }
)
