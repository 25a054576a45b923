"""The shipments topic and the event types shipping emits (docs/retail.md)."""

from __future__ import annotations

from typing import Any

from eventbus import declare_topic, register_event_type

SHIPMENTS = "shipments"

SHIPMENT_CREATED = "shipment.created"
SHIPMENT_DISPATCHED = "shipment.dispatched"
SHIPMENT_DELIVERED = "shipment.delivered"
SHIPMENT_CANCELLED = "shipment.cancelled"


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
    }


_STR: dict[str, Any] = {"type": "string"}
_LINES: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": _object(["sku", "qty"], sku=_STR, qty={"type": "integer", "minimum": 1}),
}

declare_topic(
    SHIPMENTS,
    partitions=8,
    owner="shipping",
    description="Shipments of reserved orders, keyed by order id.",
)
register_event_type(
    SHIPMENT_CREATED,
    topic=SHIPMENTS,
    schema=_object(
        ["shipment_id", "order_id", "customer_id", "lines"],
        shipment_id=_STR,
        order_id=_STR,
        customer_id=_STR,
        lines=_LINES,
    ),
    producer="shipping",
    description="A shipment was created for a reserved order.",
)
register_event_type(
    SHIPMENT_DISPATCHED,
    topic=SHIPMENTS,
    schema=_object(
        ["shipment_id", "order_id", "customer_id", "carrier", "tracking_number"],
        shipment_id=_STR,
        order_id=_STR,
        customer_id=_STR,
        carrier=_STR,
        tracking_number=_STR,
    ),
    producer="shipping",
    description="The parcel left with a carrier: the order can no longer be cancelled.",
)
register_event_type(
    SHIPMENT_DELIVERED,
    topic=SHIPMENTS,
    schema=_object(
        ["shipment_id", "order_id", "customer_id"],
        shipment_id=_STR,
        order_id=_STR,
        customer_id=_STR,
    ),
    producer="shipping",
    description="The carrier delivered the parcel.",
)
register_event_type(
    SHIPMENT_CANCELLED,
    topic=SHIPMENTS,
    schema=_object(
        ["order_id", "customer_id", "reason"],
        order_id=_STR,
        customer_id=_STR,
        reason=_STR,
        shipment_id=_STR,  # optional: absent when no shipment was created
    ),
    producer="shipping",
    description=(
        "The order's shipment was cancelled before dispatch: inventory "
        "releases its reservation."
    ),
)
