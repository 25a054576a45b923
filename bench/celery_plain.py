"""The plain-Celery baseline: one no-op task per event through the Redis broker.

Each task carries one event's data (the same ~250-byte order). Run by
bench/consume.py as ``celery -A bench.celery_plain worker --concurrency 1``.
No Django, results ignored: Celery's cheapest path for a task. Each run
counts itself with one INCR, so the bench can tell when the last one ran.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import redis
from celery import Celery

COUNTER = "bench:celery-done"

app = Celery("bench_plain")
app.conf.update(
    broker_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6390/14"),
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # Its own queue: the bus worker of the same run serves Celery's default one.
    task_default_queue="bench-plain",
    worker_hijack_root_logger=False,
)


@cache
def _client() -> redis.Redis:
    # Built in the pool child on first use, never at import (fork safety).
    return redis.Redis.from_url(app.conf.broker_url)


@app.task(name="bench.noop")
def noop(data: dict[str, Any]) -> None:
    """Do nothing with the event's data but count the run."""
    _client().incr(COUNTER)
