"""Celery tasks of analytics: thin adapters over the actions."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from services.analytics.actions import lake_flush
from services.analytics.closing import window_close_due


@shared_task(name="analytics.flush_lake", ignore_result=True)
def flush_lake() -> int:
    """Write the staged events to the lake; return how many rows were written."""
    return lake_flush().rows


@shared_task(name="analytics.close_windows", ignore_result=True)
def close_windows() -> int:
    """Publish due windows and corrections; return how many minutes closed."""
    return window_close_due(now=timezone.now())
