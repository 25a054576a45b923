"""Settings shared by every environment; what varies comes from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """Return an environment variable, or the default when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-local-development-key")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = (env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1") or "").split(",")

INSTALLED_APPS = [
    # First, so that runserver serves ASGI (WebSockets) the way Daphne does.
    "daphne",
    # Django admin with the console's site: console roles may enter it.
    "console.admin_apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally
    "channels",
    "eventbus",
    "console",
    # The retail services (docs/retail.md): one app each, talking only
    # through events.
    "services.checkout",
    "services.inventory",
    "services.shipping",
    "services.contact",
    "services.analytics",
    "services.retail",  # operator commands: seed, simulate, check
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Every asset is served by the app itself: the console works offline.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "console.middleware.BusDownMiddleware",
    # Last: the API error shape for what no API view answers (404s, 500s).
    "config.problems.ApiProblemMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "console.context.console",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# SQLite under var/ unless DATABASE_URL points at a real deployment (PostgreSQL).
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}") or "",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the outbox relay read while a request writes; the timeout rides
    # out short write locks instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the app and static/ folders; production.py turns this
# off and serves what collectstatic gathered instead.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:overview"
LOGOUT_REDIRECT_URL = "console:login"

# One REDIS_URL feeds the bus, Celery and the Channels layer.
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6390/0")

BUS = {
    "REDIS_URL": REDIS_URL,
    # "everysec": rely on the server's AOF policy (<= 1 s of acknowledged
    # events at risk on a crash). "strict": publish returns after fsync.
    "DURABILITY": env("BUS_DURABILITY", "everysec"),
    "MAX_EVENT_BYTES": int(env("BUS_MAX_EVENT_BYTES", str(1024 * 1024)) or 0),
    "SOURCE": env("BUS_SOURCE", "/switchyard"),
    # Seconds a process trusts its cached topic table before re-reading it.
    "TOPIC_CACHE_SECONDS": float(env("BUS_TOPIC_CACHE_SECONDS", "5") or 5),
    # Consumers: a dead worker's partitions move on within LEASE_MS plus one
    # heartbeat; BATCH_SIZE entries are fetched per source per read.
    "LEASE_MS": int(env("BUS_LEASE_MS", "8000") or 8000),
    "HEARTBEAT_SECONDS": float(env("BUS_HEARTBEAT_SECONDS", "2") or 2),
    "BATCH_SIZE": int(env("BUS_BATCH_SIZE", "100") or 100),
}


def channel_layers(redis_url: str | None) -> dict[str, dict[str, object]]:
    """Channels' layer on the bus's Redis (only small control messages use it)."""
    if not redis_url:
        raise ImproperlyConfigured("REDIS_URL is empty; set it to the bus's Redis.")
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }


CHANNEL_LAYERS = channel_layers(REDIS_URL)

# The operator console (console/): how often the per-process sampler reads
# positions and lag from Redis, whatever the number of open dashboards.
CONSOLE = {
    "SAMPLE_SECONDS": float(env("CONSOLE_SAMPLE_SECONDS", "0.5") or 0.5),
    # Seconds the Services page waits for Celery workers to answer inspect.
    "INSPECT_TIMEOUT": float(env("CONSOLE_INSPECT_TIMEOUT", "1") or 1),
    # Seconds an alert webhook POST may take before it is retried next round.
    "WEBHOOK_TIMEOUT": float(env("CONSOLE_WEBHOOK_TIMEOUT", "3") or 3),
    # Seconds between checks that an open console socket's session and role
    # still hold (a logout or a removed role closes it within this time).
    "RECHECK_SECONDS": float(env("CONSOLE_RECHECK_SECONDS", "5") or 5),
}

# /metrics (Prometheus): with a token set, scrapes must send it as a bearer
# token. Empty: open, for a /metrics kept off the public network.
METRICS_TOKEN = env("METRICS_TOKEN", "") or ""

# Public interfaces (console/api, console/feed): REST API and WebSocket feed.
API = {
    # Default per-token publish limit: events per second, bursts of twice it.
    "PUBLISH_RATE": int(env("API_PUBLISH_RATE", "200") or 200),
    # Events in one batch request at most (the body limit applies too).
    "MAX_BATCH": int(env("API_MAX_BATCH", "500") or 500),
    # Default live feed connections per token.
    "MAX_FEED_CONNECTIONS": int(env("API_MAX_FEED_CONNECTIONS", "10") or 10),
    # Frames a feed connection may have waiting before it is closed as slow.
    "FEED_BUFFER": int(env("API_FEED_BUFFER", "5000") or 5000),
    # Seconds a feed connection may stay without a subscription or client frame.
    "FEED_IDLE_SECONDS": float(env("API_FEED_IDLE_SECONDS", "300") or 300),
    # Seconds a feed client has to send {"op": "auth"} without a header token.
    "FEED_AUTH_SECONDS": float(env("API_FEED_AUTH_SECONDS", "10") or 10),
    # How often live feed connections re-check their token (revocation, expiry).
    "FEED_RECHECK_SECONDS": float(env("API_FEED_RECHECK_SECONDS", "2") or 2),
}

# Subcommands of `manage.py bus` that live outside eventbus (which must not
# import them): name -> module with HELP, add_arguments() and handle().
BUS_CLI_EXTRA = {"token": "console.cli_token"}

# The REST API (console/api, docs/api.md) and its OpenAPI 3 document.
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchyard event bus API",
    "DESCRIPTION": "Publish events, read topics, watch and reset consumer "
    "groups, redrive dead letters. Authenticate with 'Authorization: Bearer "
    "sy_…' (an API token) or a console session. Every error has the shape "
    "{type, title, detail, errors}. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
# Task modules autodiscovery (tasks.py) does not find.
CELERY_IMPORTS = ("console.alert_tasks",)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
HOURLY = 3600.0
CELERY_BEAT_SCHEDULE = {
    "bus-retention": {"task": "eventbus.tasks.trim_all_topics", "schedule": 60.0},
    "bus-outbox-relay": {"task": "eventbus.tasks.relay_outbox", "schedule": 1.0},
    "bus-outbox-purge": {"task": "eventbus.tasks.purge_outbox", "schedule": HOURLY},
    "inventory-restock-low": {"task": "inventory.restock_low", "schedule": 60.0},
    "analytics-flush-lake": {"task": "analytics.flush_lake", "schedule": 10.0},
    "analytics-close-windows": {"task": "analytics.close_windows", "schedule": 30.0},
    "bus-idempotency-purge": {
        "task": "eventbus.tasks.purge_processed",
        "schedule": HOURLY,
    },
    "console-evaluate-alerts": {"task": "console.evaluate_alerts", "schedule": 10.0},
    # Persisted chart history: a restarted Daphne still shows the last hour.
    "console-record-samples": {
        "task": "console.tasks.record_samples",
        "schedule": 10.0,
    },
}

# Customer notifications (services.contact): files under var/mail by default;
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend plus Django's
# EMAIL_HOST/EMAIL_PORT/... settings send real mail.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "shop@switchyard.invalid")

# The simulated carrier (services.shipping): seconds from shipment to
# dispatch and from dispatch to delivery.
SHIPPING_DISPATCH_SECONDS = float(env("SHIPPING_DISPATCH_SECONDS", "2") or 2)
SHIPPING_DELIVERY_SECONDS = float(env("SHIPPING_DELIVERY_SECONDS", "3") or 3)

# Each service's slow side work runs on its own queue, in its own worker.
CELERY_TASK_ROUTES = {
    "shipping.*": {"queue": "shipping"},
    "inventory.*": {"queue": "inventory"},
    "analytics.*": {"queue": "analytics"},
}

# The analytics data lake: Parquet files partitioned by topic and date.
ANALYTICS_LAKE_PATH = env("ANALYTICS_LAKE_PATH", str(BASE_DIR / "var" / "lake"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
