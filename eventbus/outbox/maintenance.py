"""Outbox housekeeping: the backlog for the console, and purging old rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Count, Min
from django.utils import timezone

from eventbus.models import OutboxEvent

DEFAULT_RETENTION = timedelta(days=7)
PURGE_CHUNK = 5_000


class Backlog(NamedTuple):
    """Committed outbox rows not yet in the log."""

    pending: int
    oldest_created_at: datetime | None


def outbox_backlog(*, using: str = "default") -> Backlog:
    """Return how many rows wait for the relay and when the oldest was written."""
    row = (
        OutboxEvent.objects.using(using)
        .filter(published_at__isnull=True)
        .aggregate(count=Count("id"), oldest=Min("created_at"))
    )
    return Backlog(row["count"], row["oldest"])


def purge_published(
    older_than: timedelta = DEFAULT_RETENTION, *, using: str = "default"
) -> int:
    """Delete rows published more than ``older_than`` ago; return how many."""
    if older_than < timedelta(0):
        raise ValueError(f"older_than must not be negative, not {older_than!r}.")
    cutoff = timezone.now() - older_than
    rows = OutboxEvent.objects.using(using)
    deleted = 0
    while True:
        # Small chunks keep each DELETE short (SQLite locks the whole file).
        ids = list(
            rows.filter(published_at__lt=cutoff)
            .order_by("published_at", "id")
            .values_list("id", flat=True)[:PURGE_CHUNK]
        )
        if not ids:
            return deleted
        deleted += rows.filter(id__in=ids).delete()[0]
