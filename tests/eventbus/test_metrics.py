"""Consumer counters reach the console API and Prometheus's /metrics."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command

from eventbus import Outgoing, publish_many
from eventbus.metrics import source_stats
from tests.consumer_app.events import OTHER_TYPE, PROBE_TOPIC
from tests.eventbus.consumer_helpers import handled, publish_probes, running, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=2)


def test_counters_add_up_per_group_and_show_in_prometheus_format(probe, bus, client):
    publish_probes(12, keys=3)
    publish_many([Outgoing(PROBE_TOPIC, OTHER_TYPE, {}, key="k0")] * 3)
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 12)
        wait_until(lambda: sum(s.skipped for s in source_stats(PROBE_TOPIC, "probe-a")))

    stats = source_stats(PROBE_TOPIC, "probe-a")
    assert [s.partition for s in stats] == [0, 1, -1]
    assert sum(s.processed for s in stats) == 12
    assert sum(s.skipped for s in stats) == 3
    assert all(s.mean_latency_ms is None or s.mean_latency_ms >= 0 for s in stats)

    body = client.get("/metrics").content.decode()
    processed = [
        float(v)
        for v in re.findall(
            r'switchyard_consumer_events_total\{group="probe-a",outcome="processed",'
            r'partition="\d",topic="probe"\} (\S+)',
            body,
        )
    ]
    assert sum(processed) == 12
    assert 'switchyard_handler_seconds_total{group="probe-a",partition="0"' in body
    assert 'switchyard_group_members{group="probe-a"} 0.0' in body  # it has left


def test_bus_consume_refuses_a_group_without_handlers(db):
    with pytest.raises(CommandError, match="No handlers subscribe for group 'nobody'"):
        call_command("bus", "consume", "nobody")


def test_a_metrics_token_is_required_once_set(db, client, settings):
    """With METRICS_TOKEN set, scrapes without it (or with another) get 401."""
    settings.METRICS_TOKEN = "s3cret"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 401
        assert "METRICS_TOKEN" in response.content.decode()
        assert response["WWW-Authenticate"].startswith("Bearer")
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 200
    assert "switchyard_" in ok.content.decode()
