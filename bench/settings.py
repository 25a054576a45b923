"""Django settings for the consumer benchmark's processes (bench/consume.py).

The base settings with the benchmark's app installed. REDIS_URL and
DATABASE_URL come from the environment that bench/consume.py sets for
itself and for the workers it starts, so every process shares one private
Redis database and one database.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import REDIS_URL

INSTALLED_APPS = [*INSTALLED_APPS, "bench.consume_app"]  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
