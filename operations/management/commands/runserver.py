"""`manage.py runserver` serves all of plotserver: pages, REST, viewer WebSockets and streams.

Django's own runserver is a WSGI server: pages would load, but no WebSocket would connect and
no stream would be read. This one keeps Django's arguments (`[addrport]`, `--noreload`,
`--ipv6`) and its checks, then runs the ASGI application under uvicorn with httptools, as in
production, reloading on code changes.
"""

from __future__ import annotations

import uvicorn
from django.conf import settings
from django.core.management.commands.runserver import Command as DjangoRunserver

# What the reloader watches: plotserver's own code and templates, not the virtualenv.
WATCHED = ["plotserver", "base", "core", "streaming", "history", "web", "operations", "templates"]


class Command(DjangoRunserver):
    help = (
        "Serve everything (pages, REST, WebSockets, streams) for development: uvicorn with httptools, "
        "reloading on code changes."
    )
    # Set by Django's runserver from the command line before run(); its stubs leave them out.
    addr: str
    port: str
    _raw_ipv6: bool

    def run(self, **options) -> None:
        """Check, then hand over to uvicorn (which runs its own reloader process)."""
        self.check(display_num_errors=True)
        self.check_migrations()
        use_reloader = options["use_reloader"]
        host = self.addr if not self._raw_ipv6 else self.addr.strip("[]")
        address = f"[{host}]" if self._raw_ipv6 else host
        self.stdout.write(
            f"plotserver at http://{address}:{self.port}/ (uvicorn with httptools: pages, REST, WebSockets, "
            f"streams{'; reloading on code changes' if use_reloader else ''}). Quit with CONTROL-C."
        )
        uvicorn.run(
            "plotserver.asgi:application",
            host=host,
            port=int(self.port),
            http="httptools",
            reload=use_reloader,
            reload_dirs=[str(settings.BASE_DIR / name) for name in WATCHED],
            # plotserver ends open streams itself on SIGTERM; this bounds anything else.
            timeout_graceful_shutdown=5,
        )
