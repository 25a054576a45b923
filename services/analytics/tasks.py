"""Celery tasks of analytics: thin adapters over the actions."""

from __future__ import annotations

from celery import shared_task

from services.analytics.actions import lake_flush


@shared_task(name="analytics.flush_lake", ignore_result=True)
def flush_lake() -> int:
    """Write the staged events to the lake; return how many rows were written."""
    return lake_flush().rows
