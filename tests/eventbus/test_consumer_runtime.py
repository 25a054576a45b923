"""The consumer runtime in this process: order, retries, dead letters, leases."""

from __future__ import annotations

import time

import pytest

from eventbus import Outgoing, publish, publish_many
from eventbus.deadletters import list_dead_letters, redrive
from eventbus.exceptions import UnknownGroup
from eventbus.keys import members_key, redrive_key, stats_key, stream_key
from eventbus.lag import group_lag
from eventbus.models import ProcessedEvent
from eventbus.resets import ResetTarget, reset_group
from tests.consumer_app.events import OTHER_TYPE, PROBE_HAPPENED, PROBE_TOPIC
from tests.eventbus.consumer_helpers import (
    assert_per_key_order,
    handled,
    publish_probes,
    running,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_heavy]


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=4)
    return PROBE_TOPIC


def backlog(group: str) -> int | None:
    try:
        return group_lag(PROBE_TOPIC, group).backlog
    except UnknownGroup:  # the consumer has not created it yet
        return None


def stats(bus, group: str, field: str) -> int:
    return sum(
        int(bus.hget(stats_key(stream_key(PROBE_TOPIC, p), group), field) or 0)
        for p in range(4)
    )


def test_events_are_handled_once_each_in_per_key_order(probe, bus):
    publish_probes(200, keys=10)
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 200, what="200 handled")
        wait_until(lambda: backlog("probe-a") == 0, what="lag 0")
    assert_per_key_order(handled("probe-a"))
    assert stats(bus, "probe-a", "processed") == 200
    # Batches commit their handlers and processed records together.
    assert ProcessedEvent.objects.filter(group="probe-a").count() == 200


def test_unknown_types_are_acked_and_counted_not_crashed_on(probe, bus):
    publish_many(
        [Outgoing(PROBE_TOPIC, OTHER_TYPE, {"x": 1}, key="k1")] * 5
        + [Outgoing(PROBE_TOPIC, PROBE_HAPPENED, {"seq": 1}, key="k1")]
    )
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 1)
        wait_until(lambda: backlog("probe-a") == 0)
    assert stats(bus, "probe-a", "skipped") == 5


def test_a_failing_event_is_retried_in_place_and_keeps_key_order(probe, bus):
    publish_probes(1, keys=1, start=0)
    publish_probes(1, keys=1, start=1, fail=2)  # fails twice, then succeeds
    publish_probes(3, keys=1, start=2)
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 5)
    assert [row.seq for row in handled("probe-a")] == [0, 1, 2, 3, 4]
    assert stats(bus, "probe-a", "failed") == 2
    assert list_dead_letters(PROBE_TOPIC, "probe-a").items == []


def test_poison_is_dead_lettered_after_the_last_attempt_and_the_partition_moves_on(
    probe, bus
):
    publish_probes(1, keys=1, start=0)
    # Fails on its three attempts (the policy's maximum), then would pass.
    publish(
        PROBE_TOPIC,
        PROBE_HAPPENED,
        {"seq": 1, "fail": 3, "fail_for": "probe-a"},
        key="k0",
    )
    publish_probes(2, keys=1, start=2)
    with running("probe-a"), running("probe-b"):
        wait_until(lambda: len(handled("probe-a")) == 3, what="the rest handled")
        wait_until(lambda: len(handled("probe-b")) == 4, what="probe-b unaffected")
    assert [row.seq for row in handled("probe-a")] == [0, 2, 3]
    (letter,) = list_dead_letters(PROBE_TOPIC, "probe-a").items
    assert letter.attempts == 3
    assert letter.error_type.endswith("ValueError")
    assert "probe 1 fails on attempt 3" in letter.error_message
    assert "Traceback" in letter.traceback and "_handle" in letter.traceback
    assert letter.first_failure_ms <= letter.last_failure_ms
    assert letter.topic == PROBE_TOPIC and letter.partition is not None
    assert letter.event.data["seq"] == 1
    assert list_dead_letters(PROBE_TOPIC, "probe-b").items == []

    # Redrive goes back to probe-a only, where its fourth attempt succeeds.
    assert redrive(PROBE_TOPIC, "probe-a", all=True) == 1
    with running("probe-a"), running("probe-b"):
        wait_until(lambda: len(handled("probe-a")) == 4, what="redriven handled")
        time.sleep(0.5)
    assert sorted(row.seq for row in handled("probe-a")) == [0, 1, 2, 3]
    assert len(handled("probe-b")) == 4  # probe-b never saw the redrive
    assert bus.xlen(redrive_key(PROBE_TOPIC, "probe-a")) == 0  # handled letters go
    assert list_dead_letters(PROBE_TOPIC, "probe-a").items == []


def test_a_redelivered_processed_event_does_not_run_the_handler_twice(probe, bus):
    publish_probes(10, keys=2)
    with running("probe-a"):
        wait_until(lambda: backlog("probe-a") == 0 and len(handled("probe-a")) == 10)
    # Force re-delivery of everything: move the group back to the start.
    reset_group(PROBE_TOPIC, "probe-a", ResetTarget.earliest(), dry_run=False)
    assert backlog("probe-a") == 10
    with running("probe-a"):
        wait_until(lambda: backlog("probe-a") == 0)
    assert len(handled("probe-a")) == 10
    assert stats(bus, "probe-a", "duplicates") == 10


def test_a_handler_past_its_timeout_fails_and_is_retried(probe, bus):
    publish(
        PROBE_TOPIC, PROBE_HAPPENED, {"seq": 1, "sleep": 30, "sleep_times": 1}, key="k"
    )
    started = time.monotonic()
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 1, timeout=15)
    assert time.monotonic() - started < 10  # interrupted, not slept 30 s
    assert stats(bus, "probe-a", "failed") == 1


def test_members_split_partitions_and_a_stopped_members_move_to_the_other(probe, bus):
    with running("probe-a") as first, running("probe-a") as second:
        wait_until(
            lambda: (
                len(first.states) + len(second.states) == 5
                and first.states
                and second.states
            ),
            what="both own sources",
        )
        assert not set(first.states) & set(second.states)
        assert bus.zcard(members_key("probe-a")) == 2
        second.stop()
        wait_until(lambda: len(first.states) == 5, timeout=10, what="takeover")
    publish_probes(40, keys=8)
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 40)
    assert_per_key_order(handled("probe-a"))


def test_a_lost_group_is_repaired_and_consumption_goes_on(probe, bus):
    publish_probes(8, keys=4)
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 8)
        for p in range(4):
            bus.delete(stream_key(PROBE_TOPIC, p))  # the group vanishes with its key
        publish_probes(8, keys=4, start=8)
        wait_until(lambda: len(handled("probe-a")) == 16, what="after NOGROUP")
    assert_per_key_order(handled("probe-a"))


def test_killed_redis_connections_are_reopened_without_loss(probe, bus):
    publish_probes(50, keys=5)
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) >= 10)
        for _ in range(3):
            bus.client_kill_filter(_type="normal", skipme=True)
            publish_probes(20, keys=5, start=50 + _ * 20)
            time.sleep(0.3)
        wait_until(lambda: len(handled("probe-a")) == 110, what="all 110 handled")
        wait_until(lambda: backlog("probe-a") == 0)
    assert_per_key_order(handled("probe-a"))
