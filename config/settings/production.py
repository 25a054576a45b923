"""Production: no defaults for secrets, fail fast on missing configuration."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = False
_secret = env("DJANGO_SECRET_KEY")
if not _secret:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it to a long random string in the "
        "environment of every process (web, workers, beat)."
    )
SECRET_KEY = _secret
if not env("REDIS_URL"):
    raise ImproperlyConfigured(
        "REDIS_URL is not set. Point it at the Redis that holds the bus, e.g. "
        "redis://redis.internal:6379/0 (AOF on)."
    )
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Assets come from collectstatic (scripts/setup.sh runs it), hashed and compressed.
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
