"""The Celery app: broker and result backend come from REDIS_URL like the bus."""

from __future__ import annotations

import os

from celery import Celery

from eventbus.consumer.celery import install

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("switchyard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
install(app)  # --bus-group: run the bus's consumer groups inside this worker
