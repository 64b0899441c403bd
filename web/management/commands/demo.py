"""The live demo of `make run`: a demo account and plot, and a producer streaming into it.

    python manage.py demo --setup                       # once; prints the account on first run
    python manage.py demo --produce --url http://127.0.0.1:8000

The demo account is an ordinary user (no admin), and its plot's stream tokens are random, made
like any other: the producer reads them from the demo plot in the database. The producer is an
ordinary client: it streams over HTTP to the server's stream endpoint with nothing but the
standard library. It waits quietly for the server to listen (`make run` starts it just before
uvicorn), comes back whenever the server restarts, gives up with a clear message when no
server listens within --wait seconds, and ends quietly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import secrets
import signal
import sys
import time
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.models import ApiKey, Plot, StreamToken, Trace
from core.models.tokens import new_token_string
from web.management.manage_py import manage_py

DEMO_USER = "demo"
DEMO_PLOT = "Live demo"
TRACES = ("sine", "walk")
# The fixed tokens of earlier releases: anyone could have streamed into the demo plot with them.
GUESSABLE_TOKENS = {"demo-sine-wave", "demo-random-walk"}
WAIT_DEFAULT = 60.0
RETRY_EVERY = 0.2


class Command(BaseCommand):
    help = "Set up the demo account and plot (--setup), or run the demo producer (--produce)."

    def add_arguments(self, parser):
        parser.add_argument("--setup", action="store_true")
        parser.add_argument("--produce", action="store_true")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The server to stream to.")
        parser.add_argument("--interval", type=float, default=0.1, help="Seconds between points.")
        parser.add_argument(
            "--wait",
            type=float,
            default=WAIT_DEFAULT,
            help="Seconds to wait for the server to listen (at start, and after it goes away) before giving up.",
        )

    def handle(self, setup, produce, url, interval, wait, **options):
        if setup:
            self.set_up(url)
        if produce:
            tokens = demo_tokens()
            # SIGTERM (make run's trap, a service manager) ends the producer as Ctrl-C does: quietly.
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
            # Ctrl-C too, also when it was started with SIGINT ignored (a shell's background job,
            # a parent that ignores it), which Python would otherwise keep.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                produce_forever(url, interval, tokens, self.stdout, wait)
            except KeyboardInterrupt:
                return

    @transaction.atomic
    def set_up(self, url: str) -> None:
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(DEMO_USER, password=password)
            key = ApiKey.issue(user)
            self.stdout.write(
                "\nDemo account created (shown this once):\n"
                f"  username: {DEMO_USER}\n  password: {password}\n  API key:  {key}\n"
                f"  try: curl -u {DEMO_USER}:{key} {url}/api/plots/\n"
            )
        elif user.is_superuser or user.is_staff:
            # Earlier releases made the demo account an administrator, with a password printed on a terminal.
            user.is_superuser = user.is_staff = False
            user.save(update_fields=["is_superuser", "is_staff"])
            self.stdout.write(
                f"Demo account {DEMO_USER} is an ordinary user now, no longer an administrator "
                "(an administrator of your own: python manage.py createsuperuser)."
            )
        plot = Plot.objects.filter(owner=user, title=DEMO_PLOT).first()
        if plot is None:
            plot = Plot.objects.create(
                owner=user,
                title=DEMO_PLOT,
                layout={"title": {"text": "Live demo: two producers streaming"}, "xaxis": {"title": {"text": "time"}}},
            )
            for index, name in enumerate(TRACES):
                Trace.objects.create(
                    plot=plot,
                    index=index,
                    spec={"type": "scatter", "mode": "lines", "name": name, "x": [], "y": []},
                    stream_token=StreamToken.objects.create(owner=user, name=f"demo {name}"),
                    maxpoints=300,
                )
        for token in StreamToken.objects.filter(owner=user, token__in=GUESSABLE_TOKENS):
            token.token = new_token_string()
            token.save(update_fields=["token"])
        self.stdout.write(
            f"Demo account: {DEMO_USER} (lost its password? {manage_py(f'changepassword {DEMO_USER}')}; "
            f"its API key? {manage_py(f'apikey {DEMO_USER}')})"
        )
        self.stdout.write(f"Demo plot: {url}{plot.get_absolute_url()}")


def demo_tokens() -> dict[str, str]:
    """The token strings of the demo plot's traces, each with the trace's name (what it draws)."""
    traces = Trace.objects.filter(
        plot__owner__username=DEMO_USER, plot__title=DEMO_PLOT, stream_token__revoked__isnull=True
    ).select_related("stream_token")
    tokens = {t.stream_token.token: t.spec.get("name", "") for t in traces if t.stream_token}
    if not tokens:
        raise CommandError(
            f"No demo plot with a stream token to feed: run `python manage.py demo --setup` first "
            f"(it makes the {DEMO_USER} account's plot “{DEMO_PLOT}”)."
        )
    return tokens


def timestamp(seconds: float) -> str:
    """A point's x: UTC to the millisecond, from one reading of the clock.

    Seconds and milliseconds from two readings drew a backward hook whenever a second
    turned between them (…48.900 then …48.001)."""
    millis = int(seconds * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}"


def produce_forever(url: str, interval: float, tokens: dict[str, str], out, wait: float = WAIT_DEFAULT) -> None:
    """Stream a sine wave and a random walk, one point each per interval, for ever.

    A server not listening yet (or gone for a restart) is waited for without a word, up to
    `wait` seconds; past that, CommandError says so. A server that answers a stream with a
    refusal (a revoked token, say) ends the producer with that answer."""
    target = urlsplit(url)
    host = target.hostname or "localhost"  # --url names the server; urlsplit leaves a bare path hostless
    port = target.port or 80
    walk = 0.0
    step = 0
    announced = False
    deadline = time.monotonic() + wait
    while True:
        connections: dict[str, http.client.HTTPConnection] = {}
        try:
            for token in tokens:
                connection = http.client.HTTPConnection(host, port, timeout=30)
                connections[token] = connection
                connection.putrequest("POST", "/")
                connection.putheader("plotly-streamtoken", token)
                connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
            if not announced:
                out.write(f"demo producer streaming to {url}")
                announced = True
            while True:
                now = timestamp(time.time())
                walk += random.gauss(0, 0.1)
                points = {"sine": math.sin(step / 20), "walk": walk}
                for token, connection in connections.items():
                    y = points.get(tokens[token], math.cos(step / 20))  # a trace the owner added or renamed
                    line = json.dumps({"x": now, "y": round(y, 4)}).encode() + b"\n"
                    connection.send(b"%x\r\n%s\r\n" % (len(line), line))
                step += 1
                deadline = time.monotonic() + wait  # streaming: the next wait starts when it ends
                time.sleep(interval)
        except OSError:
            refusal = next(filter(None, (refused(c) for c in connections.values())), None)
            for connection in connections.values():
                connection.close()
            if refusal:
                raise CommandError(f"demo producer: the server at {url} refused the stream: {refusal}") from None
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"demo producer: no server listening at {url} after {wait:g} s; "
                    "start it (make run starts both), or give the right --url"
                ) from None
            time.sleep(RETRY_EVERY)


def refused(connection: http.client.HTTPConnection) -> str:
    """The server's answer on a stream it ended, when it was a refusal that a retry cannot mend
    (not a 503 of a server shutting down, nor a connection that simply dropped)."""
    if connection.sock is None:
        return ""
    try:
        connection.sock.settimeout(2)
        response = connection.getresponse()
        body = response.read(2000).decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return ""
    if response.status < 400 or response.status == 503:
        return ""
    return f"{response.status} {body.strip()}"
