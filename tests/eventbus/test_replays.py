"""Replay of a time range: a group's end bound, in the runtime and on the CLI."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventbus import (
    create_group,
    delete_group,
    group_until,
    list_groups,
    publish,
    range_progress,
    set_group_until,
)
from eventbus.consumer.runner import GroupConsumer
from eventbus.consumer.subscriptions import group_spec, handlers_for
from eventbus.deadletters import list_dead_letters, redrive
from eventbus.exceptions import InvalidGroupName, InvalidReset, SubscriptionError
from eventbus.keys import stats_key, stream_key, until_key
from eventbus.lag import group_lag
from eventbus.models import ProcessedEvent
from eventbus.streams import server_ms
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC
from tests.eventbus.consumer_helpers import handled, publish_probes, running, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_heavy]

PARTITIONS = 4
REPLAY = "probe-replay"
HANDLERS = "probe-a"  # its handler writes Handled rows with group "probe-a"


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=PARTITIONS)
    return PROBE_TOPIC


def stats(bus, group: str, field: str) -> int:
    return sum(
        int(bus.hget(stats_key(stream_key(PROBE_TOPIC, p), group), field) or 0)
        for p in range(PARTITIONS)
    )


def tick(bus) -> int:
    """Return Redis's clock after a pause, so ids on either side differ in ms."""
    time.sleep(0.01)
    now = server_ms(bus)
    time.sleep(0.01)
    return now


def seqs(group: str = HANDLERS) -> list[int]:
    return sorted(row.seq for row in handled(group))


def test_the_bound_is_stored_listed_moved_and_deleted_with_the_group(probe, bus):
    """create_group stores the end; set_group_until moves it; delete drops it."""
    until = datetime(2030, 1, 1, tzinfo=UTC)
    info = create_group(PROBE_TOPIC, REPLAY, start="1700000000000", until=until)
    ms = int(until.timestamp() * 1000)
    assert info.until_ms == ms and group_until(PROBE_TOPIC, REPLAY) == ms
    assert int(bus.get(until_key(PROBE_TOPIC, REPLAY))) == ms
    assert set_group_until(PROBE_TOPIC, REPLAY, "1800000000000") == 1800000000000
    (listed,) = list_groups(PROBE_TOPIC)
    assert listed.until_ms == 1800000000000
    assert set_group_until(PROBE_TOPIC, REPLAY, None) is None
    assert group_until(PROBE_TOPIC, REPLAY) is None
    assert range_progress(PROBE_TOPIC, REPLAY) is None  # no bound, no range

    set_group_until(PROBE_TOPIC, REPLAY, ms)
    delete_group(PROBE_TOPIC, REPLAY)
    assert bus.get(until_key(PROBE_TOPIC, REPLAY)) is None
    # A group created again under the name does not inherit the old end.
    assert create_group(PROBE_TOPIC, REPLAY).until_ms is None


def test_an_end_not_after_the_start_or_not_a_time_is_refused(probe, bus):
    """The range is [start, until): an empty or unreadable one is an error."""
    with pytest.raises(InvalidReset, match="must be after the start"):
        create_group(PROBE_TOPIC, REPLAY, start="5000", until=5000)
    with pytest.raises(InvalidReset, match="not an end time"):
        create_group(PROBE_TOPIC, REPLAY, start="earliest", until="latest")
    assert list_groups(PROBE_TOPIC) == []  # nothing half-created
    assert bus.get(until_key(PROBE_TOPIC, REPLAY)) is None


def test_a_replay_group_handles_exactly_its_range_and_acks_the_rest(probe, bus):
    """Events before the start are not delivered, those in [start, until) are
    handled once under the replay group, later ones are acked unhandled."""
    publish_probes(12, keys=8, start=0)  # before the range
    start = tick(bus)
    publish_probes(40, keys=8, start=100)  # inside
    until = tick(bus)
    publish_probes(16, keys=8, start=200)  # after the end, already published
    create_group(PROBE_TOPIC, REPLAY, start=start, until=until)

    with running(REPLAY, handlers=HANDLERS):
        wait_until(lambda: group_lag(PROBE_TOPIC, REPLAY).backlog == 0, what="lag 0")
        assert seqs() == list(range(100, 140))
        publish_probes(8, keys=8, start=300)  # published during the replay
        wait_until(lambda: stats(bus, REPLAY, "beyond_end") == 24, what="acked")
        assert group_lag(PROBE_TOPIC, REPLAY).backlog == 0

    assert seqs() == list(range(100, 140))  # exactly the range, once each
    assert stats(bus, REPLAY, "processed") == 40
    assert stats(bus, REPLAY, "skipped") == 0
    # Idempotency records and positions are the replay group's own.
    assert ProcessedEvent.objects.filter(group=REPLAY).count() == 40
    assert not ProcessedEvent.objects.filter(group=HANDLERS).exists()
    assert [g.name for g in list_groups(PROBE_TOPIC)] == [REPLAY]
    progress = range_progress(PROBE_TOPIC, REPLAY)
    assert progress is not None and progress.done and progress.remaining == 0
    assert {p.partition for p in progress.partitions} == set(range(PARTITIONS))


def test_the_range_is_not_done_while_events_inside_it_are_left(probe, bus):
    """Progress counts the in-range events a group has not handled yet."""
    start = tick(bus)
    inside = publish_probes(10, keys=4)
    until = tick(bus)
    publish_probes(5, keys=4, start=50)
    create_group(PROBE_TOPIC, REPLAY, start=start, until=until)
    progress = range_progress(PROBE_TOPIC, REPLAY)
    assert progress is not None and not progress.done
    assert progress.remaining == len(inside)  # the 5 after the end do not count
    assert group_lag(PROBE_TOPIC, REPLAY).backlog == 15


def test_a_future_end_is_not_done_until_its_time_has_come(probe, bus):
    """Events may still arrive inside a range that ends in the future."""
    create_group(PROBE_TOPIC, REPLAY, start="latest", until=server_ms(bus) + 60_000)
    progress = range_progress(PROBE_TOPIC, REPLAY)
    assert progress is not None and progress.remaining == 0 and not progress.done


def test_a_running_consumer_notices_a_new_bound_within_a_heartbeat(probe, bus):
    """Setting and clearing the end while workers run changes what they handle."""
    create_group(PROBE_TOPIC, REPLAY, start="latest")
    with running(REPLAY, handlers=HANDLERS, heartbeat=0.3):
        publish_probes(8, keys=8, start=0)
        wait_until(lambda: len(handled(HANDLERS)) == 8, what="unbounded: handled")
        set_group_until(PROBE_TOPIC, REPLAY, server_ms(bus))
        time.sleep(0.6)  # two heartbeats
        publish_probes(8, keys=8, start=10)
        wait_until(lambda: stats(bus, REPLAY, "beyond_end") == 8, what="acked")
        set_group_until(PROBE_TOPIC, REPLAY, None)
        time.sleep(0.6)
        publish_probes(8, keys=8, start=20)
        wait_until(lambda: len(handled(HANDLERS)) == 16, what="handled again")
    assert seqs() == [*range(8), *range(20, 28)]


def test_a_redriven_letter_beyond_the_end_is_still_handled(probe, bus):
    """A letter failed while inside the range; moving the end before it does
    not drop its redrive, which goes to the replay group's handlers."""
    create_group(PROBE_TOPIC, REPLAY, start="earliest", until=server_ms(bus) + 60_000)
    poison = publish(
        PROBE_TOPIC, PROBE_HAPPENED, {"seq": 1, "fail": 3}, key="k1"
    )  # fails on the policy's three attempts, then would pass
    with running(REPLAY, handlers=HANDLERS):
        wait_until(
            lambda: list_dead_letters(PROBE_TOPIC, REPLAY).items, what="dead letter"
        )
    # The end moves to the poison event's own time: it is now beyond the end.
    set_group_until(PROBE_TOPIC, REPLAY, int(poison.position.stream_id.split("-")[0]))
    assert redrive(PROBE_TOPIC, REPLAY, all=True) == 1
    publish_probes(4, keys=4, start=10)  # beyond the end as well
    with running(REPLAY, handlers=HANDLERS):
        wait_until(lambda: seqs() == [1], what="the redriven letter handled")
        wait_until(lambda: stats(bus, REPLAY, "beyond_end") == 4, what="rest acked")
    assert list_dead_letters(PROBE_TOPIC, REPLAY).items == []
    assert not list_dead_letters(PROBE_TOPIC, HANDLERS).items


def test_bus_group_specs_name_a_group_and_whose_handlers_it_runs():
    """NEW=HANDLERS borrows a group's handlers; names are validated."""
    assert group_spec("inventory") == ("inventory", "inventory")
    assert group_spec(" replay-1 = probe-a ") == ("replay-1", "probe-a")
    with pytest.raises(SubscriptionError, match="write NEW=HANDLERS"):
        group_spec("=probe-a")
    with pytest.raises(InvalidGroupName):
        group_spec("Replay!=probe-a")
    (sub,) = handlers_for("replay-1", "probe-a")
    assert sub.group == "replay-1" and sub.handler.__name__ == "probe_a"


def test_a_handlers_group_without_subscriptions_is_refused_at_startup(db):
    """A consumer for unknown handlers fails when built, naming the known groups."""
    with pytest.raises(SubscriptionError, match="No handlers subscribe for group 'x'"):
        GroupConsumer("replay-1", handlers="x")
    with pytest.raises(SubscriptionError, match="probe-a"):
        handlers_for("replay-1", "nobody")


def test_borrowed_handlers_run_only_where_the_group_was_created(probe, bus):
    """A replay group is not created by its worker on the handlers' topics:
    without a group to run, the consumer refuses to start."""
    with pytest.raises(SubscriptionError, match="Create it first"):
        GroupConsumer(REPLAY, handlers=HANDLERS)
    with pytest.raises(CommandError, match="Create it first"):
        bus_cmd("consume", f"{REPLAY}={HANDLERS}")
    create_group(PROBE_TOPIC, REPLAY, start="latest")
    consumer = GroupConsumer(REPLAY, handlers=HANDLERS)
    assert list(consumer.subs) == [PROBE_TOPIC] and consumer.handlers == HANDLERS


def test_a_replay_of_one_topic_leaves_the_handlers_other_topics_alone(make_topic, bus):
    """shipping reads 'stock' and 'orders'; a replay group created on 'orders'
    runs shipping's 'orders' handlers only, and never creates itself on 'stock'."""
    make_topic("orders", partitions=1)
    make_topic("stock", partitions=1)
    assert {s.topic for s in handlers_for("replay-s", "shipping")} == {
        "orders",
        "stock",
    }
    create_group("orders", "replay-s", start="earliest", until=server_ms(bus))
    consumer = GroupConsumer("replay-s", handlers="shipping")
    assert list(consumer.subs) == ["orders"]
    with running("replay-s", handlers="shipping") as consumer:
        wait_until(lambda: consumer.states, what="the consumer owns its sources")
        assert {s.topic for s in consumer.states} == {"orders"}
    assert [g.name for g in list_groups("stock")] == []


def bus_cmd(*args: str) -> str:
    out = StringIO()
    call_command("bus", *args, stdout=out)
    return out.getvalue()


def test_cli_creates_a_group_with_from_and_until(probe, bus):
    """bus groups create --from/--until stores the bound and lists it."""
    out = bus_cmd(
        "groups",
        "create",
        PROBE_TOPIC,
        REPLAY,
        "--from",
        "2024-05-01T12:00:00Z",
        "--until",
        "2024-05-01T13:00:00Z",
    )
    assert "until 1714568400000" in out and f"--bus-group {REPLAY}=" in out
    assert group_until(PROBE_TOPIC, REPLAY) == 1714568400000
    (row,) = orjson.loads(bus_cmd("groups", "--json", "--topic", PROBE_TOPIC))
    assert row["start"] == "1714564800000" and row["until_ms"] == 1714568400000
    with pytest.raises(CommandError, match="must be after the start"):
        bus_cmd(
            "groups", "create", PROBE_TOPIC, "r2", "--from", "5000", "--until", "10"
        )


def test_cli_consume_refuses_handlers_nobody_declared(db):
    """bus consume NEW=HANDLERS checks HANDLERS before starting celery."""
    with pytest.raises(CommandError, match="No handlers subscribe for group 'nobody'"):
        bus_cmd("consume", "replay-1=nobody")
    with pytest.raises(CommandError, match="not a valid group name"):
        bus_cmd("consume", "Bad Name=probe-a")
