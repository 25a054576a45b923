"""Celery tasks of the console: thin adapters over console modules."""

from __future__ import annotations

from celery import shared_task

from console.history import record_samples as record


@shared_task(name="console.tasks.record_samples", ignore_result=True)
def record_samples() -> int:
    """Persist one reading of every topic and group (beat: every 10 s)."""
    return record()
