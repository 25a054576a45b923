"""Fixtures of the analytics tests: a temp lake, topics, events on the log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from eventbus import publish, register_event_type
from eventbus.envelope import Event
from eventbus.exceptions import UnknownEventType
from eventbus.reading import read_range
from eventbus.schemas import get_event_type

TOPICS = ("orders", "stock", "shipments")
# Loose schemas for the inputs: the lake archives whatever the log holds.
INPUT_TYPES = {
    ("orders", "order.placed"): ["order_id"],
    ("orders", "order.cancelled"): ["order_id"],
    ("shipments", "shipment.created"): ["order_id"],
}


@pytest.fixture
def lake_dir(settings, tmp_path):
    """Point ANALYTICS_LAKE_PATH at a fresh temp dir."""
    settings.ANALYTICS_LAKE_PATH = str(tmp_path / "lake")
    return tmp_path / "lake"


@pytest.fixture
def topics(make_topic, lake_dir):
    """Create the retail topics and make their test event types publishable."""
    for name in TOPICS:
        make_topic(name, partitions=4)
    for (topic, type_), required in INPUT_TYPES.items():
        try:
            get_event_type(topic, type_)
        except UnknownEventType:
            register_event_type(
                type_, topic=topic, schema={"type": "object", "required": required}
            )


@pytest.fixture
def publish_orders(topics) -> Callable[[int], list[str]]:
    """Publish ``n`` order.placed events (keys spread over partitions)."""

    def run(n: int, start: int = 0) -> list[str]:
        ids = []
        for i in range(start, start + n):
            data = order_placed(f"o{i}", qty=i + 1)
            ids.append(publish("orders", "order.placed", data, key=f"o{i}").event_id)
        return ids

    return run


def order_placed(order_id: str, qty: int = 1) -> dict[str, object]:
    """Return valid order.placed data (docs/retail.md's contract)."""
    return {
        "order_id": order_id,
        "customer_id": "c1",
        "customer_email": "c1@example.com",
        "lines": [{"sku": "A", "qty": qty, "unit_price_cents": 250}],
        "total_cents": 250 * qty,
        "currency": "EUR",
        "placed_at": "2025-01-01T12:00:00Z",
    }


SHIPMENT_CREATED = {
    "shipment_id": "s1",
    "order_id": "o1",
    "customer_id": "c1",
    "lines": [{"sku": "A", "qty": 1}],
}


def log_events(topic: str) -> list[Event]:
    """Return every event of ``topic`` on the log, with positions."""
    events: list[Event] = []
    cursor = None
    while True:
        page = read_range(topic, limit=1000, cursor=cursor)
        events.extend(page.events)
        cursor = page.next_cursor
        if cursor is None:
            return events


def today_of(event: Event) -> date:
    from services.analytics.lake import stream_day

    assert event.position is not None
    return stream_day(event.position.ms)
