"""Celery beat tasks: thin adapters over the bus's retention and outbox relay."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(name="eventbus.tasks.trim_all_topics", ignore_result=True)
def trim_all_topics() -> int:
    """Apply every topic's retention; return how many events were removed."""
    from eventbus.retention import trim_all

    return sum(report.removed for report in trim_all())


@shared_task(name="eventbus.tasks.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Publish committed outbox rows that the producers' on-commit hook missed."""
    from eventbus.outbox import run_relay

    # Drain in several batches within one beat tick (scheduled every second).
    return run_relay(until_idle=True, timeout=0.9)


@shared_task(name="eventbus.tasks.purge_outbox", ignore_result=True)
def purge_outbox() -> int:
    """Delete outbox rows published more than a week ago."""
    from eventbus.outbox import purge_published

    return purge_published(older_than=timedelta(days=7))


@shared_task(name="eventbus.tasks.purge_processed", ignore_result=True)
def purge_processed() -> int:
    """Forget idempotency records older than a week (re-deliveries come sooner)."""
    from django.utils import timezone

    from eventbus.models import ProcessedEvent

    cutoff = timezone.now() - timedelta(days=7)
    deleted, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
