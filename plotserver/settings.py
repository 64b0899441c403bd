"""plotserver's one settings module, read from the environment.

Every variable has a default that lets a fresh clone run with nothing set: SQLite in the
project folder and the in-memory channel layer (one process). The README lists them all.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dj_database_url
import plotly
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use true or false")


def env_number(name: str, default: float, *, minimum: float, kind: type = float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a {kind.__name__}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEVELOPMENT_SECRET_KEY = "plotserver-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    warnings.warn(
        "SECRET_KEY is not set: using the development key. Set SECRET_KEY in production.",
        stacklevel=1,
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Streaming: see docs/streaming.md for what each one means to a producer.
STREAM_IDLE_TIMEOUT = env_number("STREAM_IDLE_TIMEOUT", 60.0, minimum=0.1)
STREAM_MAX_LINE_BYTES = int(env_number("STREAM_MAX_LINE_BYTES", 1 << 20, minimum=64, kind=int))
STREAM_TAKEOVER_TIMEOUT = env_number("STREAM_TAKEOVER_TIMEOUT", 1.0, minimum=0.05)
STREAM_PORT = int(env_number("STREAM_PORT", 0, minimum=0, kind=int)) or None
STREAM_HOST = env_str("STREAM_HOST", "0.0.0.0")
# The stream-host that /clientresp tells Plotly's Node client, e.g. http://stream.example.com;
# empty: the host the client called, on STREAM_PORT (or the main port without one).
STREAM_PUBLIC_URL = env_str("STREAM_PUBLIC_URL", "")
STREAM_RECOVERY_UPDATES = int(env_number("STREAM_RECOVERY_UPDATES", 10000, minimum=0, kind=int))
# Windows are checkpointed (the appended rows folded into Trace.spec) at a stream's end and
# when this many seconds or rows have passed since the last checkpoint (docs/streaming.md).
STREAM_CHECKPOINT_INTERVAL = env_number("STREAM_CHECKPOINT_INTERVAL", 5.0, minimum=0.0)
STREAM_CHECKPOINT_ROWS = int(env_number("STREAM_CHECKPOINT_ROWS", 500, minimum=1, kind=int))
# Appended rows are kept at least this many seconds (0: only as long as windows and
# returning viewers need them).
STREAM_HISTORY_SECONDS = env_number("STREAM_HISTORY_SECONDS", 0.0, minimum=0.0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "plots",
    "streaming",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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

DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=600)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while the ingest batch writes; IMMEDIATE takes the write lock
    # at BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("REDIS_PREFIX", "plotserver")},
        }
    }
else:
    # Viewers and streams stay in their groups for months: no group expiry to speak of.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 10 * 365 * 86400, "capacity": 1000},
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
        "plots.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "plots.errors.json_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "plotserver": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
