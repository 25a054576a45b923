"""capture_events sees what really reached the log or the outbox."""

from __future__ import annotations

import pytest

from eventbus import publish, publish_on_commit, register_event_type
from eventbus.testing import capture_events


@pytest.fixture
def orders(make_topic):
    make_topic("orders", partitions=2)
    register_event_type(
        "order.placed",
        topic="orders",
        schema={"type": "object", "required": ["order_id"]},
    )


def test_capture_sees_direct_publishes_and_uncommitted_outbox_rows(orders, bus):
    publish("orders", "order.placed", {"order_id": "before"})
    with capture_events() as captured:
        publish_on_commit("orders", "order.placed", {"order_id": "o1"}, key="o1")
        publish("orders", "order.placed", {"order_id": "o2"}, key="o2")
    assert [e.data["order_id"] for e in captured.events] == ["o1", "o2"]
    captured.assert_published("order.placed", "order.placed")
    with pytest.raises(AssertionError, match="expected"):
        captured.assert_published("order.placed")
