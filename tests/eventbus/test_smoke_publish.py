import pytest

from eventbus import publish, publish_many, register_event_type
from eventbus.exceptions import BatchError


@pytest.fixture
def order_type():
    register_event_type(
        "order.placed",
        topic="orders",
        schema={"type": "object", "required": ["order_id"],
                "properties": {"order_id": {"type": "string"}}},
    )


def test_publish_lands_on_key_partition(make_topic, order_type, bus):
    make_topic("orders", partitions=4)
    first = publish("orders", "order.placed", {"order_id": "a"}, key="c1")
    second = publish("orders", "order.placed", {"order_id": "b"}, key="c1")
    assert first.position.partition == second.position.partition
    assert bus.xlen(f"sy:{{orders.{first.position.partition}}}") == 2


def test_batch_with_one_bad_event_writes_nothing(make_topic, order_type, bus):
    make_topic("orders", partitions=2)
    with pytest.raises(BatchError, match="#1"):
        publish_many([
            {"topic": "orders", "type": "order.placed", "data": {"order_id": "a"}},
            {"topic": "orders", "type": "order.placed", "data": {"order_id": 5}},
        ])
    assert sum(bus.xlen(f"sy:{{orders.{p}}}") for p in range(2)) == 0
