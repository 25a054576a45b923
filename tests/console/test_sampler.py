"""The sampler's pieces: merge-patch diffs, rates, history, and one real sample."""

from __future__ import annotations

import asyncio

import pytest
import redis

from console.diff import merge_apply, merge_diff, strip_none
from console.sampler import Collector, Sampler
from console.series import History, Rates
from console.snapshot import DeadLetterStreams, read_bus
from eventbus import create_group, publish, register_event_type
from eventbus.keys import dead_letter_key


def test_merge_diff_is_the_patch_that_turns_old_into_new() -> None:
    """Applying the diff to the old snapshot gives the new one (RFC 7386)."""
    old = {
        "t": 1,
        "topics": {"orders": {"length": 3, "rate_in": 1.5}, "gone": {"length": 1}},
        "groups": {"orders/inv": {"backlog": 2, "partitions": {"0": {"owner": "w1"}}}},
        "list": [1, 2],
    }
    new = {
        "t": 2,
        "topics": {"orders": {"length": 4}},
        "groups": {"orders/inv": {"backlog": 2, "partitions": {"0": {"owner": "w2"}}}},
        "list": [1, 2, 3],
        "added": {"x": 1},
    }
    patch = merge_diff(old, new)
    assert patch == {
        "t": 2,
        "topics": {"orders": {"length": 4, "rate_in": None}, "gone": None},
        "groups": {"orders/inv": {"partitions": {"0": {"owner": "w2"}}}},
        "list": [1, 2, 3],
        "added": {"x": 1},
    }
    assert merge_apply(old, patch) == new


def test_an_unchanged_snapshot_gives_an_empty_patch() -> None:
    """Nothing changed, nothing to send."""
    same = {"a": {"b": [1, {"c": 2}]}, "d": 1.0}
    assert merge_diff(same, {"a": {"b": [1, {"c": 2}]}, "d": 1.0}) == {}


def test_unknown_figures_are_left_out_not_zero() -> None:
    """A None (unknown) is dropped: in a merge patch null would mean delete."""
    assert strip_none({"lag": None, "pending": 0, "p": {"x": None}}) == {
        "pending": 0,
        "p": {},
    }


def test_rate_is_the_counter_delta_over_time() -> None:
    """Events/s come from consecutive samples of an ever-growing counter."""
    rates = Rates(window=5)
    assert rates.update("in/orders", 100.0, 50) is None  # one point: unknown
    assert rates.update("in/orders", 101.0, 60) == pytest.approx(10.0)
    assert rates.update("in/orders", 102.0, 80) == pytest.approx(15.0)


def test_rate_is_averaged_over_the_window_only() -> None:
    """Points older than the window stop counting toward the rate."""
    rates = Rates(window=2)
    for second, value in enumerate([0, 0, 0, 100, 200, 300]):
        rate = rates.update("x", float(second), value)
    assert rate == pytest.approx(100.0)


def test_a_counter_that_goes_back_restarts_the_rate() -> None:
    """A re-created stream never shows a negative rate."""
    rates = Rates()
    rates.update("x", 1.0, 500)
    rates.update("x", 2.0, 600)
    assert rates.update("x", 3.0, 10) is None
    assert rates.update("x", 4.0, 30) == pytest.approx(20.0)


def test_history_keeps_one_point_per_bucket_for_an_hour() -> None:
    """Series hold the last value of each 5 s bucket and drop what is older."""
    history = History(bucket=5, keep=3600)
    history.record("in/orders", 1000.0, 1.0)
    history.record("in/orders", 1003.0, 2.0)  # same bucket: replaces
    history.record("in/orders", 1006.0, 3.0)
    history.record("in/orders", 1007.0, None)  # unknown: no point
    assert history.as_dict() == {"in/orders": {"1000": 2.0, "1005": 3.0}}
    assert history.take_changes() == {"in/orders": {"1000": 2.0, "1005": 3.0}}
    history.prune(1000.0 + 3600 + 1)
    assert history.as_dict() == {"in/orders": {"1005": 3.0}}
    assert history.take_changes() == {"in/orders": {"1000": None}}
    history.prune(1005.0 + 3600 + 1)
    assert history.as_dict() == {}
    assert history.take_changes() == {"in/orders": None}


def _order_type() -> str:
    register_event_type("livetest.sent", topic="orders", schema={"type": "object"})
    return "livetest.sent"


def test_a_sample_reads_topics_groups_lag_and_health(bus, make_topic) -> None:
    """One reading has lengths, backlog per group and partition, and health."""
    make_topic("orders", partitions=2)
    kind = _order_type()
    for n in range(6):
        publish("orders", kind, {"n": n}, key=f"k{n}")
    create_group("orders", "inventory", start="earliest")
    reading = read_bus()
    assert reading["health"]["redis"]["ok"] is True
    assert reading["health"]["redis"]["version"].startswith("7")
    assert reading["health"]["db"]["ok"] is True
    assert reading["topics"]["orders"]["length"] == 6
    assert reading["topics"]["orders"]["added"] == 6
    group = reading["groups"]["orders/inventory"]
    assert group["backlog"] == 6
    assert group["time_lag_ms"] >= 0
    assert sum(p["backlog"] for p in group["partitions"].values()) == 6
    assert reading["workers"]["inventory"] == {"online": 0, "members": {}}


class CountingRedis(redis.Redis):
    """A real client that remembers the names of the commands it sent."""

    commands: list[str]

    def execute_command(self, *args, **options):
        self.commands.append(str(args[0]).upper())
        return super().execute_command(*args, **options)


def test_dead_letters_are_counted_without_a_keyspace_scan_per_sample(
    bus, make_topic, monkeypatch
) -> None:
    """Known groups' letters every sample; other groups' after the next rescan."""
    make_topic("orders", partitions=2)
    create_group("orders", "inventory")
    client = CountingRedis(connection_pool=bus.connection_pool)
    client.commands = []
    streams = DeadLetterStreams()
    known = [("orders", "inventory")]
    assert streams.count(client, known) == {}
    assert client.commands.count("SCAN") == 1
    bus.xadd(dead_letter_key("orders", "inventory"), {"x": "1"})
    bus.xadd(dead_letter_key("orders", "gone"), {"x": "1"})  # a deleted group's
    bus.xadd(dead_letter_key("orders", "gone"), {"x": "2"})
    for _ in range(3):
        assert streams.count(client, known) == {("orders", "inventory"): 1}
    assert client.commands.count("SCAN") == 1
    monkeypatch.setattr("console.snapshot.DLQ_RESCAN_SECONDS", 0.0)
    assert streams.count(client, known) == {
        ("orders", "inventory"): 1,
        ("orders", "gone"): 2,
    }
    assert client.commands.count("SCAN") == 2
    bus.delete(dead_letter_key("orders", "gone"))
    assert streams.count(client, known) == {("orders", "inventory"): 1}


def test_a_sample_counts_dead_letters_of_groups_and_of_strays(bus, make_topic) -> None:
    """read_bus reports every dead-letter stream, emptied ones as 0."""
    make_topic("orders", partitions=2)
    create_group("orders", "inventory")
    bus.xadd(dead_letter_key("orders", "inventory"), {"x": "1"})
    bus.xadd(dead_letter_key("orders", "stray"), {"x": "1"})
    bus.xadd(dead_letter_key("orders", "emptied"), {"x": "1"})
    bus.xtrim(dead_letter_key("orders", "emptied"), maxlen=0)
    assert read_bus()["dead_letters"] == {
        "orders/inventory": 1,
        "orders/stray": 1,
        "orders/emptied": 0,
    }


def test_consecutive_samples_give_events_per_second(bus, make_topic) -> None:
    """The second sample after new events shows a positive rate in."""
    make_topic("orders", partitions=2)
    kind = _order_type()
    collector = Collector()
    collector.seeded = True  # no persisted history in this test
    first, _ = collector.collect()
    assert "rate_in" not in first["topics"]["orders"]  # unknown yet, not 0
    for n in range(20):
        publish("orders", kind, {"n": n})
    second, changes = collector.collect()
    assert second["topics"]["orders"]["rate_in"] > 0
    assert list(changes) == ["in/orders"]


def test_redis_down_is_reported_and_last_figures_kept(
    bus, make_topic, redis_server, bus_on
) -> None:
    """With Redis gone the snapshot says so and keeps the last figures, stale."""
    make_topic("orders", partitions=2)
    collector = Collector()
    collector.seeded = True
    collector.collect()
    server = redis_server()
    bus_on(server.url)
    server.kill()
    snapshot, _ = collector.collect()
    redis_health = snapshot["health"]["redis"]
    assert redis_health["ok"] is False
    assert "Redis is not answering" in redis_health["error"]
    assert snapshot["stale"] is True
    assert "orders" in snapshot["topics"]
    assert snapshot["health"]["db"]["ok"] is True


class SlowSocket:
    """A watcher whose transport is backed up until told otherwise."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.slow = False

    async def send_json(self, content, close: bool = False) -> None:
        self.sent.append(content)

    def backed_up(self) -> bool:
        return self.slow


def test_a_backed_up_socket_skips_patches_then_gets_a_full_snapshot() -> None:
    """Patches are not queued for a slow browser; it resyncs from a full sample."""
    sampler = Sampler()
    fast, slow = SlowSocket(), SlowSocket()

    async def run() -> None:
        sampler._lock = asyncio.Lock()
        sampler.watchers |= {fast, slow}
        await sampler._publish({"topics": {"a": 1}}, {})
        slow.slow = True
        await sampler._publish({"topics": {"a": 2}}, {})
        await sampler._publish({"topics": {"a": 3}}, {})
        slow.slow = False
        await sampler._publish({"topics": {"a": 3}}, {})  # nothing changed

    asyncio.run(run())
    assert [m["full"] for m in fast.sent] == [True, False, False]
    assert [m["full"] for m in slow.sent] == [True, True]
    assert slow.sent[-1]["data"]["topics"] == {"a": 3}
    assert slow.sent[-1]["seq"] == sampler.seq  # the current sample, whole
