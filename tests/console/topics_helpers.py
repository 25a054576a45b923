"""Shared set-up for the Topics page tests: a 'shop' topic with two event types."""

from __future__ import annotations

import time
from typing import Any

from eventbus import Published, publish, register_event_type

TOPIC = "shop"
PLACED = "shop.order_placed"
CANCELLED = "shop.order_cancelled"
PLACED_SCHEMA = {
    "type": "object",
    "required": ["order_id", "total"],
    "properties": {
        "order_id": {"type": "string"},
        "total": {"type": "integer", "minimum": 0},
        "note": {"type": "string"},
    },
}
CANCELLED_SCHEMA = {
    "type": "object",
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}, "note": {"type": "string"}},
}


def declare_shop(make_topic: Any, partitions: int = 4) -> None:
    """Create the shop topic and register its two event types."""
    make_topic(TOPIC, partitions=partitions, owner="checkout", retention_ms=86_400_000)
    register_event_type(PLACED, topic=TOPIC, schema=PLACED_SCHEMA)
    register_event_type(CANCELLED, topic=TOPIC, schema=CANCELLED_SCHEMA)


def shop_event(i: int) -> Published:
    """Publish event ``i``: every third is a cancellation; 5 keys; note on #7."""
    event_type = CANCELLED if i % 3 == 0 else PLACED
    data: dict[str, Any] = {"order_id": f"o{i}", "note": "plain"}
    if event_type == PLACED:
        data["total"] = i * 100
    if i == 7:
        data["note"] = "Gift WRAP please"
    return publish(TOPIC, event_type, data, key=f"cust-{i % 5}", subject=f"order-{i}")


def fill_shop(count: int, start: int = 0, pause: float = 0.0) -> list[Published]:
    """Publish events ``start`` .. ``start + count - 1``, optionally spaced out."""
    published = []
    for i in range(start, start + count):
        published.append(shop_event(i))
        if pause:
            time.sleep(pause)
    return published


def log_order(published: list[Published]) -> list[str]:
    """Return event ids in the browser's merged order: (ms, seq, partition)."""

    def where(p: Published) -> tuple[int, int, int]:
        ms, _, seq = p.position.stream_id.partition("-")
        return int(ms), int(seq), p.position.partition

    return [p.event_id for p in sorted(published, key=where)]
