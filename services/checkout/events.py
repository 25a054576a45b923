"""The orders topic and the event types checkout emits (docs/retail.md)."""

from __future__ import annotations

from typing import Any

from eventbus import declare_topic, register_event_type

ORDERS = "orders"

ORDER_PLACED = "order.placed"
ORDER_CANCELLED = "order.cancelled"

_STR: dict[str, Any] = {"type": "string"}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


ORDER_PLACED_SCHEMA = _object(
    [
        "order_id",
        "customer_id",
        "customer_email",
        "lines",
        "total_cents",
        "currency",
        "placed_at",
    ],
    order_id=_STR,
    customer_id=_STR,
    customer_email=_STR,
    lines={
        "type": "array",
        "minItems": 1,
        "items": _object(
            ["sku", "qty", "unit_price_cents"],
            sku=_STR,
            qty={"type": "integer", "minimum": 1},
            unit_price_cents={"type": "integer", "minimum": 0},
        ),
    },
    total_cents={"type": "integer", "minimum": 0},
    currency={"type": "string", "pattern": "^[A-Z]{3}$"},
    placed_at={"type": "string", "format": "date-time"},
)

ORDER_CANCELLED_SCHEMA = _object(
    ["order_id", "customer_id", "reason"],
    order_id=_STR,
    customer_id=_STR,
    reason=_STR,
)

declare_topic(
    ORDERS,
    partitions=8,
    owner="checkout",
    description="Orders placed and cancelled by customers, keyed by order id.",
)
register_event_type(
    ORDER_PLACED,
    topic=ORDERS,
    schema=ORDER_PLACED_SCHEMA,
    producer="checkout",
    description="A customer placed an order; prices are those at placing time.",
)
register_event_type(
    ORDER_CANCELLED,
    topic=ORDERS,
    schema=ORDER_CANCELLED_SCHEMA,
    producer="checkout",
    description=(
        "The customer asked to cancel; shipping decides whether it wins "
        "(shipment.cancelled) or the parcel already left."
    ),
)
