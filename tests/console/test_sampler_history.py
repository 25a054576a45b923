"""Persisted history: the beat task records readings; a new sampler redraws the hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.history import record_samples, seed_history
from console.models import Sample
from console.series import History
from eventbus import create_group, publish, register_event_type


def test_record_samples_stores_topics_and_groups(bus, make_topic) -> None:
    """One row per topic and per group, with raw counters and lag."""
    make_topic("orders", partitions=2)
    register_event_type("livetest.sent", topic="orders", schema={"type": "object"})
    create_group("orders", "inventory", start="earliest")
    for n in range(3):
        publish("orders", "livetest.sent", {"n": n})
    assert record_samples() == 2
    topic = Sample.objects.get(kind="topic", name="orders")
    group = Sample.objects.get(kind="group", name="orders/inventory")
    assert topic.values == {"added": 3, "length": 3}
    assert group.values["backlog"] == 3
    assert group.values["handled"] == 0


def test_record_samples_prunes_rows_older_than_a_day(bus, make_topic) -> None:
    """Rows past 24 h are deleted when new ones are written."""
    make_topic("orders", partitions=1)
    old = Sample.objects.create(
        at=datetime.now(UTC) - timedelta(hours=25), kind="topic", name="orders"
    )
    record_samples()
    assert not Sample.objects.filter(pk=old.pk).exists()
    assert Sample.objects.filter(name="orders").count() == 1


@pytest.mark.django_db
def test_seeding_turns_rows_back_into_the_last_hour_of_rates() -> None:
    """Rates come from consecutive rows; rows older than an hour are ignored."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    for minutes_ago, added, backlog in [(90, 0, 1), (2, 100, 5), (1, 700, 7)]:
        at = now - timedelta(minutes=minutes_ago)
        Sample.objects.create(
            at=at, kind="topic", name="orders", values={"added": added}
        )
        Sample.objects.create(
            at=at,
            kind="group",
            name="orders/inv",
            values={"handled": added // 2, "backlog": backlog, "time_lag_ms": None},
        )
    history = History()
    assert seed_history(history, now=now) == 4
    series = history.as_dict()
    minute_ago = str(history.bucket_of((now - timedelta(minutes=1)).timestamp()))
    assert series["in/orders"] == {minute_ago: 10.0}  # 600 events in 60 s
    assert series["out/orders/inv"] == {minute_ago: 5.0}
    assert list(series["backlog/orders/inv"].values()) == [5, 7]
    assert "time_lag/orders/inv" not in series  # unknown stays unknown
    assert history.take_changes() == {}
