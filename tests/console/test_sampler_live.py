"""The snapshot's firing alerts and per-partition figures, from a real bus and DB."""

from __future__ import annotations

import pytest
from django.db import connection

from console.alerts import evaluate
from console.models import AlertMetric, AlertRule
from console.sampler import PARTITION_BACKLOG, Collector
from console.series import History
from eventbus import ResetTarget, create_group, group_lag, reset_group
from tests.consumer_app.events import PROBE_TOPIC
from tests.eventbus.consumer_helpers import (
    handled,
    publish_probes,
    running,
    wait_until,
)

GROUP = "probe-a"  # handled by tests.consumer_app's probe_a


@pytest.fixture
def probe(make_topic) -> None:
    """The probe topic (2 partitions) with group 'probe-a' at the start."""
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, GROUP, start="earliest")


@pytest.fixture
def collector() -> Collector:
    """A collector that does not seed itself from persisted history."""
    made = Collector()
    made.seeded = True
    return made


def make_rule(**fields: object) -> AlertRule:
    values = {
        "name": "probe-a behind",
        "topic": PROBE_TOPIC,
        "group": GROUP,
        "metric": AlertMetric.LAG,
        "threshold": 2,
        "for_seconds": 0,
        **fields,
    }
    return AlertRule.objects.create(**values)


def test_the_snapshot_lists_firing_alerts_and_drops_resolved_ones(
    probe, collector
) -> None:
    """A fired alert is in the snapshot with its figures; once it resolves the
    list is empty (not missing)."""
    make_rule()
    first, _ = collector.collect()
    assert first["alerts"] == []
    publish_probes(5)
    assert evaluate().fired == ["probe-a behind"]
    firing, _ = collector.collect()
    [alert] = firing["alerts"]
    assert alert["rule"] == "probe-a behind"
    assert (alert["topic"], alert["group"], alert["metric"]) == (
        PROBE_TOPIC,
        GROUP,
        "lag",
    )
    assert (alert["value"], alert["threshold"]) == (5, 2)
    reset_group(PROBE_TOPIC, GROUP, ResetTarget.latest(), dry_run=False)
    assert evaluate().resolved == ["probe-a behind"]
    resolved, _ = collector.collect()
    assert resolved["alerts"] == []


@pytest.mark.django_db(transaction=True)
def test_a_database_error_keeps_the_last_known_alerts(probe, collector) -> None:
    """When the alerts cannot be read the sample still comes, with the alerts
    last read: an outage must not look like every alert resolving."""
    make_rule()
    publish_probes(5)
    evaluate()
    before, _ = collector.collect()
    assert [a["rule"] for a in before["alerts"]] == ["probe-a behind"]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE console_alert RENAME TO console_alert_away")
    try:
        during, _ = collector.collect()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE console_alert_away RENAME TO console_alert")
    assert during["alerts"] == before["alerts"]
    assert during["topics"][PROBE_TOPIC]["length"] == 5  # the rest is live


@pytest.mark.django_db(transaction=True)
def test_partitions_carry_their_own_counters_rate_and_backlog_series(
    probe, collector
) -> None:
    """Each partition has its processed counter, a rate of events finished per
    second, and a backlog series of its own, not the group's total."""
    publish_probes(12, keys=8)  # k0-k3 hash to partition 1, k4-k7 to 0
    lag = group_lag(PROBE_TOPIC, GROUP)
    own = {str(p.partition): p.backlog for p in lag.partitions}
    assert own == {"0": 4, "1": 8}
    first, changes = collector.collect()
    group = first["groups"][f"{PROBE_TOPIC}/{GROUP}"]
    for partition, backlog in own.items():
        part = group["partitions"][partition]
        assert part["processed"] == 0 and part["handled"] == 0
        assert "rate_out" not in part  # one sample: unknown, not 0
        series = changes[f"{PARTITION_BACKLOG}{PROBE_TOPIC}/{GROUP}/{partition}"]
        assert list(series.values()) == [backlog]
    with running(GROUP):
        wait_until(lambda: len(handled(GROUP)) == 12, what="12 probes handled")
        wait_until(lambda: group_lag(PROBE_TOPIC, GROUP).backlog == 0, what="acks")
    second, _ = collector.collect()
    group = second["groups"][f"{PROBE_TOPIC}/{GROUP}"]
    assert group["processed"] == 12
    for partition, backlog in own.items():
        part = group["partitions"][partition]
        assert part["processed"] == backlog  # what it held, it processed
        assert part["handled"] == backlog
        assert part["rate_out"] > 0
        assert part["last_ms"] > 0
    held = collector.history.as_dict()
    for partition in own:
        series = held[f"{PARTITION_BACKLOG}{PROBE_TOPIC}/{GROUP}/{partition}"]
        assert list(series.values())[-1] == 0


def test_partition_series_keep_ten_minutes_and_group_series_the_hour() -> None:
    """A series under a short-keep prefix is pruned sooner than the others."""
    history = History(bucket=5, keep=3600, keep_by_prefix={"part_backlog/": 600})
    history.record("part_backlog/orders/inv/0", 1000.0, 3.0)
    history.record("backlog/orders/inv", 1000.0, 3.0)
    history.take_changes()
    history.prune(1000.0 + 601)
    assert history.as_dict() == {"backlog/orders/inv": {"1000": 3.0}}
    assert history.take_changes() == {"part_backlog/orders/inv/0": None}
