"""Lag on real Redis: exact undelivered + pending, time lag, unknown never 0."""

from __future__ import annotations

import pytest
import redis

from eventbus.envelope import FIELD, Event
from eventbus.exceptions import UnknownGroup, UnknownTopic
from eventbus.groups import create_group
from eventbus.keys import stream_key
from eventbus.lag import group_lag, topic_lag

BASE = 1_700_000_000_000


def entry_id(i: int) -> str:
    return f"{BASE + i * 1000}-0"


def fill(client: redis.Redis, topic: str, partition: int, count: int) -> list[str]:
    """XADD ``count`` envelopes with known ids e1..eN (pipelined)."""
    pipe = client.pipeline(transaction=False)
    for i in range(1, count + 1):
        event = Event(id=f"ev-{i}", source="/t", type="order.placed", time="t", data={})
        pipe.xadd(
            stream_key(topic, partition), {FIELD: event.to_wire()}, id=entry_id(i)
        )
    return [sid.decode() for sid in pipe.execute()]


def brute_undelivered(client: redis.Redis, topic: str, p: int, group: str) -> int:
    """Count entries after the group's position by reading the whole stream."""
    key = stream_key(topic, p)
    row = next(r for r in client.xinfo_groups(key) if r["name"].decode() == group)
    position = tuple(map(int, row["last-delivered-id"].decode().split("-")))
    return sum(
        1
        for sid, _ in client.xrange(key)
        if tuple(map(int, sid.decode().split("-"))) > position
    )


def read(client: redis.Redis, topic: str, p: int, group: str, count: int) -> list[str]:
    reply = client.xreadgroup(group, "c1", {stream_key(topic, p): ">"}, count=count)
    return [sid.decode() for _, rows in reply for sid, _ in rows]


@pytest.fixture
def orders(bus, make_topic) -> redis.Redis:
    """A one-partition topic with ten events e1..e10 and group g at earliest."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 10)
    create_group("orders", "g", start="earliest")
    return bus


def test_undelivered_events_are_the_backlog(orders):
    """A group that read nothing has all ten events undelivered, none pending."""
    lag = group_lag("orders", "g")
    (part,) = lag.partitions
    assert (part.undelivered, part.pending, part.backlog) == (10, 0, 10)
    assert (lag.undelivered, lag.pending, lag.backlog) == (10, 0, 10)
    assert part.oldest_unprocessed_id == entry_id(1)


def test_pending_entries_count_in_the_backlog(orders):
    """Delivered but unacknowledged entries stay in the backlog until XACK."""
    got = read(orders, "orders", 0, "g", 4)
    part = group_lag("orders", "g").partitions[0]
    assert (part.undelivered, part.pending, part.backlog) == (6, 4, 10)
    assert part.oldest_unprocessed_id == entry_id(1)
    orders.xack(stream_key("orders", 0), "g", *got[:3])
    part = group_lag("orders", "g").partitions[0]
    assert (part.undelivered, part.pending, part.backlog) == (6, 1, 7)
    assert part.oldest_unprocessed_id == entry_id(4)


def test_trim_past_the_position_counts_only_what_is_left(orders):
    """After retention trims past the group, undelivered is what remains (not 0)."""
    key = stream_key("orders", 0)
    orders.xack(key, "g", *read(orders, "orders", 0, "g", 2))
    orders.xtrim(key, maxlen=5, approximate=False)
    part = group_lag("orders", "g").partitions[0]
    assert part.undelivered == 5 == brute_undelivered(orders, "orders", 0, "g")
    assert part.oldest_unprocessed_id == entry_id(6)


def test_null_redis_lag_is_counted_exactly(orders):
    """A reset without ENTRIESREAD leaves Redis's lag NULL; the count is exact."""
    key = stream_key("orders", 0)
    orders.xgroup_setid(key, "g", entry_id(3))
    assert orders.xinfo_groups(key)[0]["lag"] is None
    assert group_lag("orders", "g").partitions[0].undelivered == 7
    orders.xdel(key, entry_id(8))  # a tombstone after the position: NULL again
    assert orders.xinfo_groups(key)[0]["lag"] is None
    assert group_lag("orders", "g").partitions[0].undelivered == 6


def test_counts_are_exact_across_many_pages(bus, make_topic):
    """Counting pages from both ends stays exact on a stream of several pages."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 2500)
    create_group("orders", "g", start="earliest")
    key = stream_key("orders", 0)
    for i in (700, 1250, 2100):
        bus.xgroup_setid(key, "g", entry_id(i))
        assert group_lag("orders", "g").undelivered == 2500 - i


def test_time_lag_is_the_age_of_the_oldest_unprocessed_event(orders):
    """Time lag is measured on Redis's clock from the oldest pending entry."""
    lag = group_lag("orders", "g")
    assert lag.partitions[0].time_lag_ms == lag.now_ms - (BASE + 1000)
    read(orders, "orders", 0, "g", 3)
    orders.xack(stream_key("orders", 0), "g", entry_id(1))
    lag = group_lag("orders", "g")
    assert lag.time_lag_ms == lag.now_ms - (BASE + 2000)  # e2 is pending


def test_nothing_unprocessed_is_zero_time_lag(orders):
    """A group that acknowledged everything has no lag and no time lag."""
    key = stream_key("orders", 0)
    orders.xack(key, "g", *read(orders, "orders", 0, "g", 10))
    lag = group_lag("orders", "g")
    assert (lag.backlog, lag.time_lag_ms) == (0, 0)
    assert lag.partitions[0].oldest_unprocessed_id is None


def test_time_lag_uses_redis_clock(orders):
    """The reference time is Redis's TIME, not the application's clock."""
    seconds, micros = orders.time()
    lag = group_lag("orders", "g")
    assert abs(lag.now_ms - (seconds * 1000 + micros // 1000)) < 1000


def test_lost_stream_is_unknown_never_zero(bus, make_topic):
    """A partition whose key vanished makes that partition and the totals unknown."""
    make_topic("orders", partitions=2)
    fill(bus, "orders", 1, 3)
    create_group("orders", "g", start="earliest")
    bus.delete(stream_key("orders", 0))
    lag = group_lag("orders", "g")
    lost, kept = lag.partitions
    assert (lost.undelivered, lost.backlog, lost.time_lag_ms) == (None, None, None)
    assert "stream key missing" in lost.note
    assert kept.backlog == 3
    assert (lag.undelivered, lag.backlog, lag.time_lag_ms) == (None, None, None)
    assert not lag.known


def test_group_missing_on_one_partition_is_unknown(bus, make_topic):
    """A group absent from one partition is unknown there, not lag 0."""
    make_topic("orders", partitions=2)
    fill(bus, "orders", 0, 2)
    fill(bus, "orders", 1, 1)
    bus.xgroup_create(stream_key("orders", 0), "manual", id="0", entries_read=0)
    lag = group_lag("orders", "manual")
    assert lag.partitions[0].backlog == 2
    assert (
        lag.partitions[1].backlog is None and "group missing" in lag.partitions[1].note
    )
    assert lag.backlog is None


def test_topic_lag_lists_every_group(orders):
    """Every group on the topic is reported, including ones made by hand."""
    key = stream_key("orders", 0)
    orders.xgroup_create(key, "manual", id=entry_id(7))
    lags = {lag.group: lag for lag in topic_lag("orders")}
    assert set(lags) == {"g", "manual"}
    assert (lags["g"].backlog, lags["manual"].backlog) == (10, 3)


def test_totals_add_partitions(bus, make_topic):
    """Totals sum the partitions; time lag is the worst partition's."""
    make_topic("orders", partitions=3)
    for p, count in enumerate((4, 0, 6)):
        fill(bus, "orders", p, count)
    create_group("orders", "g", start="earliest")
    lag = group_lag("orders", "g")
    assert [p.backlog for p in lag.partitions] == [4, 0, 6]
    assert lag.backlog == 10
    assert lag.partitions[1].time_lag_ms == 0
    assert lag.time_lag_ms == lag.now_ms - (BASE + 1000)


def test_unknown_group_and_topic(orders):
    """Lag of a group or topic that does not exist names what does."""
    with pytest.raises(UnknownGroup, match=r"groups: g\)"):
        group_lag("orders", "nobody")
    with pytest.raises(UnknownTopic):
        group_lag("order", "g")
