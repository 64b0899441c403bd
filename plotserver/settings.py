"""plotserver's one settings module, read from the environment.

Every variable has a default that lets a fresh clone run with nothing set: SQLite in the
project folder and the in-memory channel layer (one process). The README lists them all.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from pathlib import Path
from typing import Any

import dj_database_url
import plotly
from django.core.exceptions import ImproperlyConfigured

from base.database import TrackedConnection
from base.redis_hosts import RedisSettingUnusable, redis_hosts
from core.retention import normalize_retention
from plotserver.environment import env_bool, env_list, env_number, env_site_url, env_str
from plotserver.secret_key import KeyFileUnusable, key_file, read_key_file

BASE_DIR = Path(__file__).resolve().parent.parent


# -- Security (docs/security.md) --------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
try:
    SECRET_KEY = env_str("SECRET_KEY", "") or read_key_file()
except KeyFileUnusable as exc:
    raise ImproperlyConfigured(str(exc)) from None
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set, and there is no {key_file()}. `make run` makes that file (or run "
            "`.venv/bin/python -m plotserver.secret_key`); or set SECRET_KEY to a long random string (python -c "
            "'import secrets; print(secrets.token_urlsafe(50))'); or set DEBUG=1 for a throwaway development server."
        )
    SECRET_KEY = "plotserver-development-key-do-not-use-in-production"

# Without ALLOWED_HOSTS only this machine's names are served: a server reachable from the LAN
# must be told the names it answers to (and nothing else ends up in web_url or share links).
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOCAL_HOSTS)
ALLOWED_HOSTS_FROM_DEFAULT = not os.environ.get("ALLOWED_HOSTS", "").strip()
# The address people reach this server at (`make run` passes the one it prints). Plotly's doors
# (/clientresp, /v2, /apigetfile) answer whatever Host a Plotly client hard-codes; the URLs of
# their answers name this address when that Host is not one of ALLOWED_HOSTS
# (web/plotly_api/hosts.py).
PUBLIC_URL = env_site_url("PUBLIC_URL", "http://127.0.0.1:8000")
# Origins other than the served host that may also post forms and open viewer sockets.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS=1: the site is served over HTTPS (directly or behind a TLS proxy).
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("HTTPS_REDIRECT", True)
# Plotly's Arduino and Electric Imp libraries speak plain HTTP only, to /clientresp: a redirect is
# an answer they cannot follow (and their key was sent by then).
SECURE_REDIRECT_EXEMPT = [r"^clientresp$"]
SECURE_HSTS_SECONDS = int(env_number("HSTS_SECONDS", 31536000, minimum=0, kind=int)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
# The header a TLS proxy sets to say the client used HTTPS, e.g. X-Forwarded-Proto. Only behind a
# proxy that always sets it: a client could send it itself. (uvicorn's --proxy-headers is the
# alternative, limited to --forwarded-allow-ips.)
_proxy_header = env_str("HTTPS_PROXY_HEADER", "")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SILENCED_SYSTEM_CHECKS = []
if HTTPS and not SECURE_SSL_REDIRECT:
    SILENCED_SYSTEM_CHECKS.append("security.W008")  # turned off on purpose: the proxy redirects
if HTTPS and not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole domain to HTTPS in browsers for good: the domain owner's call.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Pages run only the server's own scripts: no inline script, no other origin. plotly.js sets
# inline styles, so styles may be inline. Sockets and fetches go to the served host only.
# Redoc (/api/redoc/) runs its search in a worker made from a blob: URL of the page itself.
CONTENT_SECURITY_POLICY_ON = env_bool("CONTENT_SECURITY_POLICY", HTTPS)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Both doors (main port and stream listener): how long a client may take, and how many
# connections it may hold. See plotserver/http.py.
# A silent connection may be a stream whose client sends its head with its first line (Node's
# http does): it may stay silent as long as a stream may (STREAM_IDLE_TIMEOUT's default).
HTTP_FIRST_BYTE_TIMEOUT = env_number("HTTP_FIRST_BYTE_TIMEOUT", 60.0, minimum=0.1)
HTTP_HEADER_TIMEOUT = env_number("HTTP_HEADER_TIMEOUT", 10.0, minimum=0.1)
HTTP_BODY_TIMEOUT = env_number("HTTP_BODY_TIMEOUT", 60.0, minimum=0.1)
# A board's /clientresp is read past its Content-Length to its CRLF, waiting this long for it.
CLIENTRESP_TAIL_TIMEOUT = env_number("CLIENTRESP_TAIL_TIMEOUT", 1.0, minimum=0.01)
HTTP_MAX_CONNECTIONS = int(env_number("HTTP_MAX_CONNECTIONS", 0, minimum=0, kind=int))
HTTP_MAX_CONNECTIONS_PER_CLIENT = int(env_number("HTTP_MAX_CONNECTIONS_PER_CLIENT", 1000, minimum=0, kind=int))

# Streaming: see docs/streaming.md for what each one means to a producer.
STREAM_IDLE_TIMEOUT = env_number("STREAM_IDLE_TIMEOUT", 60.0, minimum=0.1)
STREAM_MAX_LINE_BYTES = int(env_number("STREAM_MAX_LINE_BYTES", 1 << 20, minimum=64, kind=int))
# A connection whose lines name their token (no plotly-streamtoken header: Plotly's Arduino
# library) feeds at most this many tokens; a line for one more is rejected alone.
STREAM_CONNECTION_MAX_TOKENS = int(env_number("STREAM_CONNECTION_MAX_TOKENS", 16, minimum=1, kind=int))
STREAM_TAKEOVER_TIMEOUT = env_number("STREAM_TAKEOVER_TIMEOUT", 1.0, minimum=0.05)
RUN_START_TIMEOUT = env_number("RUN_START_TIMEOUT", 10.0, minimum=0.05)
STREAM_PORT = int(env_number("STREAM_PORT", 0, minimum=0, kind=int)) or None
STREAM_HOST = env_str("STREAM_HOST", "0.0.0.0")
# The stream-host that /clientresp tells Plotly's Node client, e.g. http://stream.example.com;
# empty: the host the client called, on STREAM_PORT (or the main port without one).
STREAM_PUBLIC_URL = env_str("STREAM_PUBLIC_URL", "")
STREAM_RECOVERY_UPDATES = int(env_number("STREAM_RECOVERY_UPDATES", 10000, minimum=0, kind=int))
# Appended rows are kept at least this many seconds (0: only as long as windows and
# returning viewers need them).
STREAM_HISTORY_SECONDS = env_number("STREAM_HISTORY_SECONDS", 0.0, minimum=0.0)
# The channel layer (Redis): how long one call to it may take before it counts as away
# (docs/operations.md, "Redis away").
CHANNEL_LAYER_TIMEOUT = env_number("CHANNEL_LAYER_TIMEOUT", 2.0, minimum=0.05)
# On SIGTERM, how long open streams wait for their accepted lines to be stored (the database may
# be away) before they are answered 503 with what was stored and what was not (which is then
# never stored: the producer resends it). Keep it under uvicorn's --timeout-graceful-shutdown.
STREAM_SHUTDOWN_TIMEOUT = env_number("STREAM_SHUTDOWN_TIMEOUT", 10.0, minimum=0.0)
# Accepted lines (their bytes as sent) waiting for a commit, per process: past it, every stream
# of the process stops being read (backpressure) until a commit makes room. Large, so that the
# database can be away for a while (docs/streaming.md, "Limits").
STREAM_BACKLOG_BYTES = int(env_number("STREAM_BACKLOG_BYTES", 64 << 20, minimum=1024, kind=int))
# The same for updates waiting to be handed to the channel layer. Small: a publisher that falls
# behind means viewers fall behind, and an update held in memory costs several times its line.
STREAM_PUBLISH_BACKLOG_BYTES = int(env_number("STREAM_PUBLISH_BACKLOG_BYTES", 2 << 20, minimum=1024, kind=int))
# Per stream token: trace updates a second (a line counts once per trace bound to the token),
# and the burst it may send at once. Past it, the stream is read more slowly (backpressure).
STREAM_TOKEN_RATE = env_number("STREAM_TOKEN_RATE", 5000.0, minimum=1.0)
STREAM_TOKEN_BURST = env_number("STREAM_TOKEN_BURST", 2000.0, minimum=1.0)
# History beyond the window (docs/history.md): a new plot's retention ("window", "7d",
# "forever", "100000000 points"), and how often the pruning job runs.
PLOT_RETENTION_DEFAULT = env_str("PLOT_RETENTION_DEFAULT", "window")
try:
    PLOT_RETENTION_DEFAULT = normalize_retention(PLOT_RETENTION_DEFAULT)
except ValueError as exc:
    raise ImproperlyConfigured(f"PLOT_RETENTION_DEFAULT: {exc}") from None
HISTORY_PRUNE_INTERVAL = env_number("HISTORY_PRUNE_INTERVAL", 60.0, minimum=0.1)
# The same job folds checkpointed rows into blocks of packed columns (history/folding.py,
# BLOCK_POINTS points a block), a block of fewer only once the oldest row waiting is
# HISTORY_FOLD_AGE seconds old (a slow stream's rows wait as JSON until then).
HISTORY_FOLD_AGE = env_number("HISTORY_FOLD_AGE", 3600.0, minimum=0.0)
# Range reads: the most points one answer carries (max_points above it is refused), and the
# most points of a range one read holds in memory to downsample (about 100 bytes each; a range
# with more is refused: narrow it, or download it, which streams).
HISTORY_MAX_POINTS = int(env_number("HISTORY_MAX_POINTS", 100_000, minimum=10, kind=int))
HISTORY_READ_MAX_POINTS = int(env_number("HISTORY_READ_MAX_POINTS", 1_000_000, minimum=100, kind=int))
# History range reads and downloads running at once, per process and per client (history/admission.py):
# beyond them a read is answered 503 or 429 at once, with Retry-After.
HISTORY_READS_PER_PROCESS = int(env_number("HISTORY_READS_PER_PROCESS", 4, minimum=1, kind=int))
HISTORY_READS_PER_CLIENT = int(env_number("HISTORY_READS_PER_CLIENT", 2, minimum=1, kind=int))

# InfluxDB line protocol over HTTP (docs/ingest.md): a write's body after gzip is undone, in bytes
# (413 past it; the body as sent is bounded by API_MAX_BODY_BYTES first); the series (measurement,
# tag set, field: each a trace) a plot may have; how long a write waits for its lines to be
# taken and stored (503 past it); and how long a series' stream stays open without a write.
LINEPROTO_MAX_BODY_BYTES = int(env_number("LINEPROTO_MAX_BODY_BYTES", 4 << 20, minimum=1024, kind=int))
LINEPROTO_MAX_SERIES = int(env_number("LINEPROTO_MAX_SERIES", 100, minimum=1, kind=int))
LINEPROTO_WRITE_TIMEOUT = env_number("LINEPROTO_WRITE_TIMEOUT", 10.0, minimum=0.05)
# (At most half of STREAM_IDLE_TIMEOUT, whichever is set: lineproto/writes.py.)
LINEPROTO_SERIES_IDLE = env_number("LINEPROTO_SERIES_IDLE", 30.0, minimum=0.01)

# MQTT (mqtt/, docs/ingest.md): the broker (mqtt:// or mqtts://, user and password in the URL;
# empty: no MQTT), the client id the server's one subscribing process uses, the first level of
# every token's topic (then its owner's username: each user's namespace), the topics it
# subscribes to at most (tokens with a topic), a message's payload at most in bytes (a longer one
# is rejected alone), the messages received and not yet given to the core at most, in bytes
# (past it, new messages are dropped and logged), how often the tokens' topics are read again,
# the longest wait between two connection attempts (the backoff doubles up to it), and how long
# the client waits for the broker's answer.
MQTT_URL = env_str("MQTT_URL", "")
MQTT_CLIENT_ID = env_str("MQTT_CLIENT_ID", "plotserver")
MQTT_TOPIC_PREFIX = env_str("MQTT_TOPIC_PREFIX", "plotserver")
MQTT_MAX_TOPICS = int(env_number("MQTT_MAX_TOPICS", 1000, minimum=1, kind=int))
MQTT_MAX_MESSAGE_BYTES = int(env_number("MQTT_MAX_MESSAGE_BYTES", 64 << 10, minimum=64, kind=int))
MQTT_BUFFER_BYTES = int(env_number("MQTT_BUFFER_BYTES", 16 << 20, minimum=64 << 10, kind=int))
MQTT_RELOAD_EVERY = env_number("MQTT_RELOAD_EVERY", 5.0, minimum=0.1)
MQTT_RECONNECT_MAX = env_number("MQTT_RECONNECT_MAX", 30.0, minimum=0.1)
MQTT_TIMEOUT = env_number("MQTT_TIMEOUT", 10.0, minimum=0.1)

# The REST API, Plotly's routes and the pages (docs/api.md): what one request may cost.
# A body over API_MAX_BODY_BYTES is refused (413) before it is read; JSON nested deeper than
# API_MAX_JSON_DEPTH is refused (400) before anything walks it.
API_MAX_BODY_BYTES = int(env_number("API_MAX_BODY_BYTES", 10 << 20, minimum=1024, kind=int))
API_MAX_JSON_DEPTH = int(env_number("API_MAX_JSON_DEPTH", 64, minimum=4, kind=int))
# Django's own cap on a body it reads, left at its 2.5 MB default, answered a body between that
# and API_MAX_BODY_BYTES with an HTML 400: the one limit is API_MAX_BODY_BYTES (413 past it).
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# A plot's layout as stored, in bytes: an edit past it is refused (400), a stream line that would
# grow it past it is rejected alone (core/figure_schema.py).
PLOT_LAYOUT_MAX_BYTES = int(env_number("PLOT_LAYOUT_MAX_BYTES", 1 << 20, minimum=1024, kind=int))
# A plot's traces together, as stored JSON, in bytes: each trace holds at most an even share
# (PLOT_DATA_MAX_BYTES / its plot's traces); an edit past it is refused (400), a stream line that
# would grow a window past it is rejected alone (core/figure_schema.py).
PLOT_DATA_MAX_BYTES = int(env_number("PLOT_DATA_MAX_BYTES", 16 << 20, minimum=64 * 1024, kind=int))
API_PAGE_SIZE = int(env_number("API_PAGE_SIZE", 100, minimum=1, kind=int))
# Annotations (docs/annotations.md): the longest text one may have, in characters, and how many
# one plot may hold; past either, a REST write is refused (400); a stream line with too long a
# text is rejected alone, one past the per-plot bound keeps its points, its annotation left out.
ANNOTATION_TEXT_MAX_CHARS = int(env_number("ANNOTATION_TEXT_MAX_CHARS", 500, minimum=1, kind=int))
ANNOTATIONS_PER_PLOT = int(env_number("ANNOTATIONS_PER_PLOT", 500, minimum=1, kind=int))
# Alerts (docs/alerts.md): the hosts or networks a webhook may reach among those otherwise refused
# (loopback, link-local, metadata services); how long one webhook attempt waits, how long a
# delivery is retried (its first retry after ALERT_DELIVERY_RETRY_FIRST seconds, doubling), how
# many deliveries may wait at once (past it, a transition's are dropped and the alert says so),
# how many are tried at once, and how many alerts one user may have (400 past it).
ALERT_WEBHOOK_HOSTS = env_list("ALERT_WEBHOOK_HOSTS", [])
ALERT_WEBHOOK_TIMEOUT = env_number("ALERT_WEBHOOK_TIMEOUT", 5.0, minimum=0.1)
ALERT_DELIVERY_RETRY_FOR = env_number("ALERT_DELIVERY_RETRY_FOR", 3600.0, minimum=0.0)
ALERT_DELIVERY_RETRY_FIRST = env_number("ALERT_DELIVERY_RETRY_FIRST", 1.0, minimum=0.01)
ALERT_DELIVERY_QUEUE = int(env_number("ALERT_DELIVERY_QUEUE", 10_000, minimum=1, kind=int))
ALERT_DELIVERY_THREADS = int(env_number("ALERT_DELIVERY_THREADS", 4, minimum=1, kind=int))
ALERTS_PER_USER = int(env_number("ALERTS_PER_USER", 1000, minimum=1, kind=int))
# How many of one user's alert deliveries are tried at once (the others wait their turn: one user's
# dead targets cannot hold every delivery thread), and how long Django's mail sending waits on
# its SMTP server, per operation (an alert's e-mail; Django's default waits for ever).
ALERT_DELIVERY_PER_USER = int(env_number("ALERT_DELIVERY_PER_USER", 2, minimum=1, kind=int))
EMAIL_TIMEOUT = env_number("EMAIL_TIMEOUT", 10.0, minimum=0.1)
# Where alerts' e-mail goes out (docs/alerts.md): Django's mail settings, from the environment.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_number("EMAIL_PORT", 25, minimum=1, kind=int))
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "plotserver@localhost")
# The least time between two transitions of one alert: a crossing sooner is folded, and the alert
# takes the state its last value calls for once the time is up (a flapping stream sends a few).
ALERT_MIN_INTERVAL = env_number("ALERT_MIN_INTERVAL", 10.0, minimum=0.0)
# How long a finished alert delivery (sent, given up or dropped) is kept, in seconds: then the
# timer forgets it (the alert's status keeps its latest attempts).
ALERT_DELIVERY_KEEP = env_number("ALERT_DELIVERY_KEEP", 7 * 86400.0, minimum=0.0)
# How many of one user's alert deliveries may wait at once (past it, that user's transitions'
# deliveries are dropped and the alert says so): one user cannot fill ALERT_DELIVERY_QUEUE.
ALERT_DELIVERY_QUEUE_PER_USER = int(env_number("ALERT_DELIVERY_QUEUE_PER_USER", 1000, minimum=1, kind=int))
# Per-user quotas, each answered 429 with a message when reached.
QUOTA_TOKENS_PER_USER = int(env_number("QUOTA_TOKENS_PER_USER", 1000, minimum=1, kind=int))
QUOTA_PLOTS_PER_USER = int(env_number("QUOTA_PLOTS_PER_USER", 10000, minimum=1, kind=int))
QUOTA_TRACES_PER_PLOT = int(env_number("QUOTA_TRACES_PER_PLOT", 1000, minimum=1, kind=int))
QUOTA_TRACES_PER_TOKEN = int(env_number("QUOTA_TRACES_PER_TOKEN", 100, minimum=1, kind=int))
# Failed sign-ins (wrong API key, wrong password) per client address, and API calls per user.
THROTTLE_AUTH_FAILURES = env_str("THROTTLE_AUTH_FAILURES", "20/min")
THROTTLE_API_USER = env_str("THROTTLE_API_USER", "6000/min")
# How many reverse proxies append to X-Forwarded-For in front of the server; 0 trusts only the
# socket's address, so a client cannot pick its own address to dodge the throttles.
THROTTLE_NUM_PROXIES = int(env_number("THROTTLE_NUM_PROXIES", 0, minimum=0, kind=int))
# Viewers: see docs/websocket.md for what each one means to a client.
VIEWER_SEND_QUEUE_BYTES = int(env_number("VIEWER_SEND_QUEUE_BYTES", 1 << 20, minimum=1024, kind=int))
VIEWER_SEND_TIMEOUT = env_number("VIEWER_SEND_TIMEOUT", 10.0, minimum=0.1)
VIEWER_GAP_TIMEOUT = env_number("VIEWER_GAP_TIMEOUT", 2.0, minimum=0.0)
VIEWER_RESYNC_INTERVAL = env_number("VIEWER_RESYNC_INTERVAL", 1.0, minimum=0.0)

# Static images (docs/images.md): plots drawn by plotly.js in Chromium, in a pool of warm pages.
# Renders at once per process; beyond them, IMAGE_RENDER_QUEUE more may wait for a page, and past
# that a request is answered 503 with Retry-After. A render (its wait included) past
# IMAGE_RENDER_TIMEOUT seconds is given up (503); Chromium's start, on the first image, may take
# up to IMAGE_RENDERER_START_TIMEOUT. A figure of more than IMAGE_MAX_POINTS points or
# IMAGE_MAX_FIGURE_BYTES bytes (as JSON) is refused (413); an image of more than IMAGE_MAX_PIXELS
# pixels (width x height x scale squared) is refused (400).
IMAGE_RENDER_CONCURRENCY = int(env_number("IMAGE_RENDER_CONCURRENCY", 2, minimum=1, kind=int))
IMAGE_RENDER_QUEUE = int(env_number("IMAGE_RENDER_QUEUE", 8, minimum=0, kind=int))
IMAGE_RENDER_TIMEOUT = env_number("IMAGE_RENDER_TIMEOUT", 20.0, minimum=0.1)
IMAGE_RENDERER_START_TIMEOUT = env_number("IMAGE_RENDERER_START_TIMEOUT", 60.0, minimum=1.0)
IMAGE_MAX_POINTS = int(env_number("IMAGE_MAX_POINTS", 100_000, minimum=1, kind=int))
IMAGE_MAX_FIGURE_BYTES = int(env_number("IMAGE_MAX_FIGURE_BYTES", 8 << 20, minimum=1024, kind=int))
IMAGE_MAX_PIXELS = int(env_number("IMAGE_MAX_PIXELS", 25_000_000, minimum=10_000, kind=int))
# The Chromium that draws them: a command on PATH or a path (Debian's `chromium` package).
IMAGE_CHROMIUM = env_str("IMAGE_CHROMIUM", "chromium")

INSTALLED_APPS = [
    # First, so that its runserver (uvicorn: pages, REST, WebSockets, streams) is the one found.
    "operations",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # The data core first, then what stands on it (docs/architecture.md shows the layers).
    "core",
    "streaming",
    "history",
    "web",
    "lineproto",
    "images",
    "alerts",
    "mqtt",
    "dashboards",
]

MIDDLEWARE = [
    # First: before anything asks for the request's host (and Django refuses one not allowed).
    "web.plotly_api.hosts.PlotlyClientHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "web.outage.DatabaseUnavailableMiddleware",
]
if CONTENT_SECURITY_POLICY_ON:
    MIDDLEWARE.insert(2, "csp.middleware.CSPMiddleware")

ROOT_URLCONF = "plotserver.urls"
ASGI_APPLICATION = "plotserver.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Every request gives its connection back when it ends (CONN_MAX_AGE 0): under ASGI each request
# may run on a thread of its own, and a connection kept per thread is one left open per request.
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# A connection attempt to an unreachable PostgreSQL gives up after this many seconds (a commit
# then retries): it bounds how long SIGTERM can wait on an attempt in flight.
DATABASE_CONNECT_TIMEOUT = int(env_number("DATABASE_CONNECT_TIMEOUT", 5, minimum=1, kind=int))
# PostgreSQL connections come from a pool of this many per process (docs/deployment.md sizes it
# against max_connections); a request waits up to DATABASE_POOL_TIMEOUT seconds for one, then gets
# 503 with Retry-After. Connections idle beyond the pool's minimum close one per
# DATABASE_POOL_MAX_IDLE seconds.
DATABASE_POOL_SIZE = int(env_number("DATABASE_POOL_SIZE", 10, minimum=2, kind=int))
DATABASE_POOL_TIMEOUT = env_number("DATABASE_POOL_TIMEOUT", 5, minimum=0.1)
DATABASE_POOL_MAX_IDLE = env_number("DATABASE_POOL_MAX_IDLE", 60, minimum=1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    database_options["connect_timeout"] = DATABASE_CONNECT_TIMEOUT
    database_options.setdefault("application_name", "plotserver")  # as pg_stat_activity shows it
    database_options["pool"] = {
        # Notes whether the database answered its last connection attempt: a request refused for
        # want of a connection is told "unavailable" during an outage, "busy" otherwise.
        "connection_class": TrackedConnection,
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT,
        # Beyond this many requests queued for a connection, the next is refused at once.
        "max_waiting": 20 * DATABASE_POOL_SIZE,
        "max_idle": DATABASE_POOL_MAX_IDLE,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while the ingest batch writes; IMMEDIATE takes the write lock
    # at BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# Redis (docs/deployment.md, "Redis"): REDIS_URL (one URL, or several: shards), or REDIS_SENTINELS
# with REDIS_SENTINEL_MASTER; REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD. A setting that names Redis
# but cannot be used stops the start: never the in-memory layer in its place.
try:
    REDIS_HOSTS = redis_hosts(os.environ, CHANNEL_LAYER_TIMEOUT)
except RedisSettingUnusable as exc:
    raise ImproperlyConfigured(str(exc)) from None
REDIS_PREFIX = env_str("REDIS_PREFIX", "plotserver")
if REDIS_HOSTS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": REDIS_HOSTS, "prefix": REDIS_PREFIX},
        }
    }
else:
    # Viewers and streams stay in their groups for months: no group expiry to speak of. One
    # channel (the viewer relay's) takes the batches of every watched plot: room for seconds of them.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 10 * 365 * 86400, "capacity": 10_000},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "plot-list"
LOGOUT_REDIRECT_URL = "plot-list"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "web.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON is the default answer; the browsable API: DRF's pages for a browser at /api/.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["web.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "web.errors.json_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "web.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": THROTTLE_API_USER, "auth_failures": THROTTLE_AUTH_FAILURES},
    "NUM_PROXIES": THROTTLE_NUM_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The REST API's OpenAPI 3 schema (/api/schema/): see SPECTACULAR_SETTINGS below.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# plotly.js is served from the copy inside the plotly package: no CDN, works offline.
STATICFILES_DIRS = [("plotly", Path(plotly.__file__).parent / "package_data")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders too, so plain `uvicorn plotserver.asgi:application`
# works without a collectstatic step.
WHITENOISE_USE_FINDERS = True
# STATIC_ROOT exists only once collectstatic has run (make run does); finders serve without it.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "once_a_minute": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["once_a_minute"]},
    },
    "loggers": {
        "plotserver": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
        "django": {"handlers": ["console"], "level": "WARNING"},
        # The Redis channel layer logs a traceback a second while Redis is away: one a minute.
        "channels_redis": {"handlers": ["once_a_minute"], "level": "WARNING", "propagate": False},
    },
    "filters": {"once_a_minute": {"()": "base.rate_limited_log.RateLimitFilter", "interval": 60.0}},
}

# -- Operations: health, readiness, metrics, log format (docs/deployment.md) ---------------------
# /readyz gives each check (database, channel layer) this long; both run at once, so the answer
# comes within about this long, 200 or 503.
READYZ_TIMEOUT = env_number("READYZ_TIMEOUT", 0.8, minimum=0.05)
# /metrics answers a bearer METRICS_TOKEN, or requests from METRICS_ALLOWED_IPS (addresses or
# networks; behind a proxy, the client's address needs uvicorn's --proxy-headers).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(item, strict=False) for item in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from None
# LOG_FORMAT=json: one JSON object per line (plotserver's, Django's and uvicorn's log lines).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json")
if LOG_FORMAT == "json":
    LOGGING["formatters"]["json"] = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    LOGGING["handlers"]["console"]["formatter"] = "json"
    LOGGING["handlers"]["once_a_minute"]["formatter"] = "json"
    for server_logger in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        LOGGING["loggers"][server_logger] = {"handlers": ["console"], "level": "INFO", "propagate": False}

# The REST API's OpenAPI 3 schema (/api/schema/, REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS), with
# Swagger UI and Redoc served from here, and nothing loaded from elsewhere: Redoc's page is
# templates/drf_spectacular/redoc.html (the system's fonts, not Google's; no inline script).
SPECTACULAR_SETTINGS = {
    "TITLE": "plotserver REST API",
    "DESCRIPTION": "Plots, traces and stream tokens. Streaming itself is not REST: see docs/streaming.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["operations.openapi.only_the_rest_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "operations.openapi.type_path_parameters",
        "operations.openapi.document_shared_reading",
        "operations.openapi.document_figure",
        "operations.openapi.document_error_answers",
    ],
}
