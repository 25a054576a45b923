"""Test settings: a separate Redis database so tests never touch demo data."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

REDIS_URL = env("TEST_REDIS_URL", "redis://127.0.0.1:6390/13")
BUS = {**BUS, "REDIS_URL": REDIS_URL}  # noqa: F405
CHANNEL_LAYERS = channel_layers(REDIS_URL)  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not pytest-django's in-memory default, so that child processes
    # (crash tests, real workers) can open the same test database.
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
    # TEST_SQLITE_NAME lets two suites run side by side on one checkout.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": env("TEST_SQLITE_NAME", str(BASE_DIR / "var" / "test.sqlite3"))  # noqa: F405
    }

# Handlers that let the runtime tests drive real consumers (and workers).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.consumer_app"]  # noqa: F405
