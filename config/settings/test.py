"""Test settings: a separate Redis database so tests never touch demo data."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

REDIS_URL = env("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
BUS = {**BUS, "REDIS_URL": REDIS_URL}  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
