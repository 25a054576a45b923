"""Publishing: envelope, per-key order, all-or-nothing batches, clear errors."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime

import orjson
import pytest

from eventbus import Event, Outgoing, publish, publish_many, register_event_type
from eventbus.exceptions import (
    BatchError,
    BusUnavailable,
    EventTooLarge,
    InvalidTopicName,
    NotSerializable,
    SchemaViolation,
    UnknownEventType,
    UnknownTopic,
)
from eventbus.keys import stream_key
from eventbus.partitioning import partition_for

ORDER = {
    "type": "object",
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}, "n": {"type": "integer"}},
}


@pytest.fixture
def orders(make_topic):
    make_topic("orders", partitions=4)
    register_event_type("order.placed", topic="orders", schema=ORDER)
    register_event_type("order.cancelled", topic="orders", schema={"type": "object"})
    return "orders"


def all_events(bus, topic: str, partitions: int) -> list[Event]:
    events = []
    for p in range(partitions):
        for sid, fields in bus.xrange(stream_key(topic, p)):
            events.append(Event.from_entry(topic, p, sid, fields))
    return events


def test_the_envelope_is_a_structured_cloudevent(orders, bus):
    result = publish(
        "orders", "order.placed", {"order_id": "o1"}, key="c1", subject="o1"
    )
    ((sid, fields),) = bus.xrange(stream_key("orders", result.position.partition))
    raw = orjson.loads(fields[b"e"])
    assert raw["specversion"] == "1.0"
    assert raw["id"] == result.event_id and uuid.UUID(raw["id"]).version == 7
    assert raw["type"] == "order.placed" and raw["source"] == "/switchyard"
    assert raw["subject"] == "o1" and raw["partitionkey"] == "c1"
    assert raw["datacontenttype"] == "application/json"
    assert raw["dataschema"] == "urn:switchyard:schema:order.placed:1"
    assert raw["data"] == {"order_id": "o1"}
    assert datetime.fromisoformat(raw["time"]).tzinfo is not None
    assert result.position.stream_id == sid.decode()


def test_event_ids_are_time_ordered(orders):
    ids = [
        publish("orders", "order.placed", {"order_id": str(i)}).event_id
        for i in range(50)
    ]
    stamps = [uuid.UUID(i).int >> 80 for i in ids]
    assert stamps == sorted(stamps)


def test_the_same_key_always_lands_on_the_same_partition_in_order(orders, bus):
    keys = [f"customer-{i}" for i in range(40)]
    for n in range(5):
        publish_many(
            [
                Outgoing("orders", "order.placed", {"order_id": k, "n": n}, key=k)
                for k in keys
            ]
        )
        for k in keys[::3]:
            publish("orders", "order.placed", {"order_id": k, "n": 100 + n}, key=k)
    seen: dict[str, set[int]] = {}
    per_key: dict[str, list[int]] = {}
    for event in all_events(bus, "orders", 4):
        seen.setdefault(event.partitionkey, set()).add(event.position.partition)
        per_key.setdefault(event.partitionkey, []).append(event.data["n"])
    assert all(len(parts) == 1 for parts in seen.values())
    assert len({p for parts in seen.values() for p in parts}) == 4  # keys spread out
    for k in keys[::3]:
        assert per_key[k] == [0, 100, 1, 101, 2, 102, 3, 103, 4, 104]


def test_partition_hash_is_stable_across_processes_and_releases():
    # CRC-32 of the key: these values must never change, or keys would move
    # partition (and lose their order) on upgrade.
    expected = [3, 13, 10]
    assert [partition_for(k, 16) for k in ("a", "customer-1", "sku-42")] == expected
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from eventbus.partitioning import partition_for;"
            "print([partition_for(k, 16) for k in ('a', 'customer-1', 'sku-42')])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == str(expected)


def test_keyless_events_spread_over_partitions(orders, bus):
    for i in range(40):
        publish("orders", "order.placed", {"order_id": str(i)})
    lengths = [bus.xlen(stream_key("orders", p)) for p in range(4)]
    assert lengths == [10, 10, 10, 10]


def test_a_batch_with_one_invalid_event_writes_nothing(orders, bus):
    good = [
        {"topic": "orders", "type": "order.placed", "data": {"order_id": str(i)}}
        for i in range(10)
    ]
    bad = [
        {"topic": "orders", "type": "order.placed", "data": {"order_id": 7}},
        {"topic": "nope", "type": "order.placed", "data": {}},
        {
            "topic": "orders",
            "type": "order.placed",
            "data": {"order_id": "x", "n": {1, 2}},
        },
    ]
    with pytest.raises(BatchError) as caught:
        publish_many(good[:5] + bad + good[5:])
    assert [index for index, _ in caught.value.errors] == [5, 6, 7]
    assert "none was published" in str(caught.value)
    assert all_events(bus, "orders", 4) == []


def test_a_valid_batch_is_written_whole_across_partitions(orders, bus):
    results = publish_many(
        [
            Outgoing("orders", "order.placed", {"order_id": str(i)}, key=str(i))
            for i in range(500)
        ]
    )
    assert len(results) == 500 and len(all_events(bus, "orders", 4)) == 500
    assert len({r.event_id for r in results}) == 500


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: publish("nope", "order.placed", {}),
            UnknownTopic,
            "No such topic: 'nope'",
        ),
        (
            lambda: publish("Bad Name", "order.placed", {}),
            InvalidTopicName,
            "not a valid topic",
        ),
        (
            lambda: publish("orders", "order.shipped", {}),
            UnknownEventType,
            "not declared",
        ),
        (
            lambda: publish("orders", "order.placed", {"n": 1}),
            SchemaViolation,
            "order_id",
        ),
        (
            lambda: publish("orders", "order.cancelled", {"at": object()}),
            NotSerializable,
            "cannot be encoded as JSON",
        ),
        (
            lambda: publish("orders", "order.cancelled", {"blob": "x" * 2_000_000}),
            EventTooLarge,
            "over the 1048576-byte limit",
        ),
    ],
)
def test_bad_input_raises_a_specific_error_and_writes_nothing(
    orders, bus, call, error, message
):
    with pytest.raises(error, match=message):
        call()
    assert all_events(bus, "orders", 4) == []


def test_the_size_limit_is_configurable(orders, settings, bus):
    settings.BUS = {**settings.BUS, "MAX_EVENT_BYTES": 400}
    publish("orders", "order.cancelled", {"note": "x" * 100})
    with pytest.raises(EventTooLarge, match="400-byte limit"):
        publish("orders", "order.cancelled", {"note": "x" * 400})


def test_redis_unreachable_raises_bus_unavailable_with_advice(orders, bus_on):
    from tests.conftest import free_port

    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BusUnavailable, match="Redis is unreachable.*REDIS_URL"):
        publish("orders", "order.placed", {"order_id": "o1"})


def test_the_unreachable_message_hides_the_redis_password(orders, bus_on):
    """The advice names the Redis URL without its password."""
    from tests.conftest import free_port

    bus_on(f"redis://app:s3cret-pw@127.0.0.1:{free_port()}/0")
    with pytest.raises(BusUnavailable) as raised:
        publish("orders", "order.placed", {"order_id": "o1"})
    assert "s3cret-pw" not in str(raised.value)
    assert "redis://app:***@127.0.0.1:" in str(raised.value)
