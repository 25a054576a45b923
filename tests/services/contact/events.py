"""Contract-shaped events that contact consumes, built for direct handler calls."""

from __future__ import annotations

from eventbus import Event
from eventbus.envelope import new_event_id, now_rfc3339


def event(type_: str, **data: object) -> Event:
    return Event(
        id=new_event_id(), source="/test", type=type_, time=now_rfc3339(), data=data
    )


def placed(order_id: str = "o-1", customer_id: str = "c-1") -> Event:
    return event(
        "order.placed",
        order_id=order_id,
        customer_id=customer_id,
        customer_email=f"{customer_id}@example.com",
        lines=[{"sku": "MUG-1", "qty": 2, "unit_price_cents": 650}],
        total_cents=1300,
        currency="EUR",
        placed_at="2025-01-02T03:04:05Z",
    )


def rejected(order_id: str = "o-1", customer_id: str = "c-1") -> Event:
    return event(
        "stock.rejected",
        order_id=order_id,
        customer_id=customer_id,
        reason="insufficient stock",
        short=[{"sku": "MUG-1", "requested": 2, "available": 1}],
    )


def dispatched(order_id: str = "o-1", customer_id: str = "c-1") -> Event:
    return event(
        "shipment.dispatched",
        shipment_id="shp_1",
        order_id=order_id,
        customer_id=customer_id,
        carrier="UPS",
        tracking_number="UPS0123456789",
    )


def delivered(order_id: str = "o-1", customer_id: str = "c-1") -> Event:
    return event(
        "shipment.delivered",
        shipment_id="shp_1",
        order_id=order_id,
        customer_id=customer_id,
    )
