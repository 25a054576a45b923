"""Consumer groups on real Redis: create, delete, list, record, NOGROUP repair."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest
import redis
from django.db import connections

from eventbus.envelope import FIELD, Event
from eventbus.exceptions import (
    GroupExists,
    InvalidGroupName,
    InvalidReset,
    UnknownGroup,
    UnknownTopic,
)
from eventbus.groups import (
    create_group,
    delete_group,
    ensure_group,
    get_group,
    list_groups,
    record_positions,
    recorded_positions,
    with_group_repair,
)
from eventbus.keys import create_claim_key, positions_key, stream_key, until_key
from eventbus.leases import Lease
from eventbus.models import ConsumerGroup, Topic
from eventbus.topics import invalidate_topic_cache

BASE = 1_700_000_000_000  # entry i (1-based) has id BASE + i*1000 - 0


def entry_id(i: int) -> str:
    return f"{BASE + i * 1000}-0"


def fill(client: redis.Redis, topic: str, partition: int, count: int) -> list[str]:
    """XADD ``count`` envelopes with known ids e1..eN."""
    ids = []
    for i in range(1, count + 1):
        event = Event(id=f"ev-{i}", source="/t", type="order.placed", time="t", data={})
        sid = client.xadd(
            stream_key(topic, partition), {FIELD: event.to_wire()}, id=entry_id(i)
        )
        ids.append(sid.decode())
    return ids


def redis_group(client: redis.Redis, topic: str, p: int, group: str) -> dict:
    for row in client.xinfo_groups(stream_key(topic, p)):
        if row["name"].decode() == group:
            return row
    raise AssertionError(f"group {group} missing on partition {p}")


def read(
    client: redis.Redis, topic: str, p: int, group: str, count: int = 100
) -> list[str]:
    reply = client.xreadgroup(group, "c1", {stream_key(topic, p): ">"}, count=count)
    return [sid.decode() for _, rows in reply for sid, _ in rows]


def test_create_at_earliest_delivers_everything_with_exact_redis_lag(bus, make_topic):
    """A group created at earliest starts at 0-0 on every partition with a valid lag."""
    make_topic("orders", partitions=3)
    fill(bus, "orders", 0, 4)
    fill(bus, "orders", 2, 2)
    info = create_group("orders", "inventory", start="earliest")
    assert info.registered and info.start == "earliest"
    assert [p.position for p in info.partitions] == ["0-0", "0-0", "0-0"]
    assert [p.lag for p in info.partitions] == [4, 0, 2]
    assert [p.recorded for p in info.partitions] == ["0-0", "0-0", "0-0"]
    assert read(bus, "orders", 0, "inventory") == [entry_id(i) for i in range(1, 5)]


def test_create_at_latest_skips_existing_events(bus, make_topic):
    """A group created at latest is delivered only events published afterwards."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 3)
    info = create_group("orders", "shipping")
    assert info.partitions[0].position == entry_id(3)
    assert info.partitions[0].lag == 0
    new = bus.xadd(stream_key("orders", 0), {FIELD: b"{}"}).decode()
    assert redis_group(bus, "orders", 0, "shipping")["lag"] == 1
    assert read(bus, "orders", 0, "shipping") == [new]


def test_create_at_time_delivers_from_first_event_at_or_after_it(bus, make_topic):
    """Start at a time: the first event stamped at or after it is delivered first."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 10)
    when = datetime.fromtimestamp((BASE + 6000) / 1000, tz=UTC)
    info = create_group("orders", "analytics", start=when)
    assert info.start == str(BASE + 6000)
    assert info.partitions[0].position == entry_id(5)
    assert info.partitions[0].lag == 5
    assert read(bus, "orders", 0, "analytics", count=1) == [entry_id(6)]


def test_create_on_trimmed_stream_counts_only_what_is_left(bus, make_topic):
    """At earliest on a trimmed stream, ENTRIESREAD excludes trimmed entries."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 10)
    bus.xtrim(stream_key("orders", 0), maxlen=4, approximate=False)
    info = create_group("orders", "contact", start="earliest")
    assert info.partitions[0].entries_read == 6
    assert info.partitions[0].lag == 4


def test_create_on_topic_without_streams_makes_them(bus, make_topic):
    """Creating a group on an unused topic creates each partition's stream."""
    make_topic("orders", partitions=2)
    create_group("orders", "inventory", start="earliest")
    assert bus.exists(stream_key("orders", 0), stream_key("orders", 1)) == 2
    bus.xadd(stream_key("orders", 1), {FIELD: b"{}"})
    assert redis_group(bus, "orders", 1, "inventory")["lag"] == 1


def test_create_twice_raises_group_exists_with_advice(bus, make_topic):
    """A second create is refused and says how to move the group instead."""
    make_topic("orders", partitions=2)
    create_group("orders", "inventory")
    with pytest.raises(GroupExists, match="bus reset orders inventory"):
        create_group("orders", "inventory", start="earliest")


def test_create_is_refused_while_another_process_creates_the_same_group(
    bus, make_topic
):
    """The create claim keeps two creators apart; it is released either way."""
    make_topic("orders", partitions=2)
    other = Lease(bus, create_claim_key("orders", "replay"), 5000)
    assert other.acquire()
    with pytest.raises(GroupExists, match="being created .* bus groups --topic orders"):
        create_group("orders", "replay", until=BASE)
    assert not bus.exists(until_key("orders", "replay"))
    other.release()
    create_group("orders", "replay", until=BASE)
    with pytest.raises(GroupExists, match="already exists"):
        create_group("orders", "replay")
    assert not bus.exists(create_claim_key("orders", "replay"))
    assert get_group("orders", "replay").until_ms == BASE


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_group_keep_the_winners_end_bound(bus, make_topic):
    """Losers of a race never delete or overwrite the winner's bound."""
    make_topic("orders", partitions=4)
    for round_ in range(5):
        group = f"replay-{round_}"
        barrier = threading.Barrier(4)
        won: list[int] = []

        def create(until: int, group: str = group, barrier=barrier, won=won) -> None:
            barrier.wait()
            try:
                create_group("orders", group, until=until)
                won.append(until)
            except GroupExists:
                pass
            finally:
                connections.close_all()

        threads = [threading.Thread(target=create, args=(BASE + n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, won
        assert get_group("orders", group).until_ms == won[0]
        assert int(bus.get(until_key("orders", group))) == won[0]


def test_create_refuses_a_group_that_exists_only_in_redis(bus, make_topic):
    """A group made by hand on one partition still counts as existing."""
    make_topic("orders", partitions=2)
    bus.xgroup_create(stream_key("orders", 1), "manual", id="0", mkstream=True)
    with pytest.raises(GroupExists):
        create_group("orders", "manual")
    assert not ConsumerGroup.objects.filter(name="manual").exists()
    assert not bus.exists(stream_key("orders", 0))


@pytest.mark.parametrize("start", ["yesterday", -5, "2024-13-01"])
def test_create_rejects_bad_start(bus, make_topic, start):
    """A start that is not earliest, latest or a time is refused before any write."""
    make_topic("orders", partitions=1)
    with pytest.raises(InvalidReset):
        create_group("orders", "inventory", start=start)
    assert not bus.exists(stream_key("orders", 0))


def test_create_rejects_bad_names_and_unknown_topics(bus, make_topic):
    """Group names follow the topic-name rule; topics must exist."""
    make_topic("orders", partitions=1)
    with pytest.raises(InvalidGroupName, match="lower-case"):
        create_group("orders", "Inventory Team")
    with pytest.raises(UnknownTopic, match="orders"):
        create_group("order", "inventory")


def test_delete_removes_group_everywhere(bus, make_topic):
    """Deleting a group removes it from every partition, the hash and the table."""
    make_topic("orders", partitions=2)
    create_group("orders", "inventory", start="earliest")
    create_group("orders", "shipping", start="earliest")
    delete_group("orders", "inventory")
    assert [g.name for g in list_groups("orders")] == ["shipping"]
    assert recorded_positions("orders", 0) == {"shipping": "0-0"}
    assert not ConsumerGroup.objects.filter(name="inventory").exists()
    with pytest.raises(UnknownGroup, match="shipping"):
        delete_group("orders", "inventory")


def test_list_merges_rows_and_redis(bus, make_topic):
    """Groups only in Redis and rows whose streams vanished are both listed."""
    make_topic("orders", partitions=2)
    make_topic("stock", partitions=1)
    create_group("orders", "inventory", start="earliest")
    bus.xgroup_create(stream_key("orders", 0), "manual", id="0", mkstream=True)
    bus.delete(stream_key("orders", 1))
    create_group("stock", "inventory")
    groups = {(g.topic, g.name): g for g in list_groups()}
    assert set(groups) == {
        ("orders", "inventory"),
        ("orders", "manual"),
        ("stock", "inventory"),
    }
    manual = groups[("orders", "manual")]
    assert not manual.registered and manual.missing_partitions == [1]
    inventory = groups[("orders", "inventory")]
    assert inventory.registered and inventory.missing_partitions == [1]
    assert inventory.partitions[1].recorded == "0-0"
    assert [g.name for g in list_groups("stock")] == ["inventory"]


def test_record_positions_is_pipelineable(bus, make_topic):
    """Recorded positions can be queued on the caller's pipeline after XACK."""
    make_topic("orders", partitions=1)
    pipe = bus.pipeline()
    record_positions(pipe, "orders", 0, {"inventory": "5-0", "shipping": "7-1"})
    assert recorded_positions("orders", 0) == {}
    pipe.execute()
    assert recorded_positions("orders", 0) == {"inventory": "5-0", "shipping": "7-1"}


def test_nogroup_is_repaired_at_the_recorded_position(bus, make_topic, caplog):
    """A group lost with its key comes back where it was recorded, not at an end."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 10)
    create_group("orders", "inventory", start="earliest")
    key = stream_key("orders", 0)
    delivered = read(bus, "orders", 0, "inventory", count=4)
    bus.xack(key, "inventory", *delivered)
    record_positions(bus, "orders", 0, {"inventory": delivered[-1]})
    bus.delete(key)
    fill(bus, "orders", 0, 10)  # the log comes back (a restore) without the group
    with caplog.at_level(logging.WARNING, logger="eventbus.groups"):
        got = with_group_repair(
            "orders", "inventory", 0, lambda: read(bus, "orders", 0, "inventory")
        )
    assert got == [entry_id(i) for i in range(5, 11)]
    assert "NOGROUP" in caplog.text and entry_id(4) in caplog.text
    assert redis_group(bus, "orders", 0, "inventory")["lag"] == 0


def test_nogroup_repair_on_a_deleted_key_delivers_new_events(bus, make_topic):
    """After DEL the group is re-created on an empty stream and sees new events."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 3)
    create_group("orders", "inventory", start="earliest")
    record_positions(bus, "orders", 0, {"inventory": entry_id(3)})
    bus.delete(stream_key("orders", 0))
    assert (
        with_group_repair(
            "orders", "inventory", 0, lambda: read(bus, "orders", 0, "inventory")
        )
        == []
    )
    assert redis_group(bus, "orders", 0, "inventory")[
        "last-delivered-id"
    ].decode() == entry_id(3)
    new = bus.xadd(stream_key("orders", 0), {FIELD: b"{}"}).decode()
    assert redis_group(bus, "orders", 0, "inventory")["lag"] == 1
    assert read(bus, "orders", 0, "inventory") == [new]


def test_repair_retries_once_then_raises(bus, make_topic):
    """A group that vanishes again right after repair raises instead of looping."""
    make_topic("orders", partitions=1)
    create_group("orders", "inventory", start="earliest")
    calls = []

    def always_lost() -> list[str]:
        calls.append(1)
        bus.delete(stream_key("orders", 0))
        return read(bus, "orders", 0, "inventory")

    with pytest.raises(UnknownGroup, match="vanished again"):
        with_group_repair("orders", "inventory", 0, always_lost)
    assert len(calls) == 2


def test_repair_leaves_other_errors_alone(bus, make_topic):
    """Only NOGROUP triggers a repair; other Redis errors propagate unchanged."""
    make_topic("orders", partitions=1)
    create_group("orders", "inventory")
    bus.set("plain", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        with_group_repair("orders", "inventory", 0, lambda: bus.xlen("plain"))


def test_new_partition_gets_events_since_the_group_was_created(bus, make_topic):
    """A partition added later joins at the group's creation time, not at its end."""
    topic = make_topic("orders", partitions=1)
    create_group("orders", "inventory")  # latest
    created_ms = int(
        ConsumerGroup.objects.get(name="inventory").created_at.timestamp() * 1000
    )
    Topic.objects.filter(pk=topic.pk).update(partitions=2)
    invalidate_topic_cache()
    key = stream_key("orders", 1)
    bus.xadd(key, {FIELD: b"{}"}, id=f"{created_ms - 5000}-0")  # before the group
    after = bus.xadd(key, {FIELD: b"{}"}, id=f"{created_ms + 5000}-0").decode()
    position = ensure_group("orders", "inventory", 1)
    assert position == f"{created_ms - 5000}-0"
    assert ensure_group("orders", "inventory", 1) is None
    assert read(bus, "orders", 1, "inventory") == [after]


def test_ensure_group_without_row_or_record_needs_a_start(bus, make_topic):
    """A group nobody created is not invented unless a start is given."""
    make_topic("orders", partitions=1)
    with pytest.raises(UnknownGroup, match="groups create orders ghost"):
        ensure_group("orders", "ghost", 0)
    assert ensure_group("orders", "ghost", 0, start="earliest") == "0-0"
    assert get_group("orders", "ghost").partitions[0].position == "0-0"
    assert bus.hget(positions_key("orders", 0), "ghost") == b"0-0"
