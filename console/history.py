"""Persisted console history: record readings every 10 s, seed the sampler from them.

The beat task writes raw counters (entries added, events handled) and lag
per topic and group; a starting sampler turns consecutive rows back into
rates, so a restarted Daphne still shows the last hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction

from console.models import Sample
from console.series import HISTORY_SECONDS, History, Rates
from console.snapshot import read_bus

KEEP = timedelta(hours=24)


def record_samples() -> int:
    """Store one reading of every topic and group; prune rows past 24 h."""
    reading = read_bus()
    if "topics" not in reading:
        return 0  # Redis is down: nothing to record
    at = datetime.fromtimestamp(reading["at"], tz=UTC)
    rows = [
        Sample(at=at, kind=Sample.Kind.TOPIC, name=name, values=_topic(topic))
        for name, topic in reading["topics"].items()
    ]
    rows += [
        Sample(at=at, kind=Sample.Kind.GROUP, name=key, values=_group(group))
        for key, group in reading["groups"].items()
    ]
    with transaction.atomic():
        Sample.objects.bulk_create(rows)
        Sample.objects.filter(at__lt=at - KEEP).delete()
    return len(rows)


def _topic(topic: dict[str, Any]) -> dict[str, Any]:
    return {"added": topic["added"], "length": topic["length"]}


def _group(group: dict[str, Any]) -> dict[str, Any]:
    keys = ("handled", "backlog", "time_lag_ms")
    return {key: group[key] for key in keys}


def seed_history(history: History, now: datetime | None = None) -> int:
    """Fill ``history`` with the last hour of persisted rows; return rows read."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=HISTORY_SECONDS)
    rates = Rates(window=0)  # consecutive rows are 10 s apart: rate per step
    count = 0
    for row in Sample.objects.filter(at__gte=since).order_by("at", "id").iterator():
        at = row.at.timestamp()
        values = row.values
        if row.kind == Sample.Kind.TOPIC:
            series = f"in/{row.name}"
            history.record(series, at, rates.update(series, at, values.get("added")))
        else:
            series = f"out/{row.name}"
            history.record(series, at, rates.update(series, at, values.get("handled")))
            history.record(f"backlog/{row.name}", at, values.get("backlog"))
            history.record(f"time_lag/{row.name}", at, values.get("time_lag_ms"))
        count += 1
    history.take_changes()  # seeded points go out with the first full snapshot
    return count
