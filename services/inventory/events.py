"""The stock topic and the event types inventory publishes on it (docs/retail.md)."""

from __future__ import annotations

from typing import Any

from eventbus import declare_topic, register_event_type

TOPIC = "stock"

STOCK_RESERVED = "stock.reserved"
STOCK_REJECTED = "stock.rejected"
STOCK_RELEASED = "stock.released"
STOCK_LEVEL_CHANGED = "stock.level_changed"

REASONS = ("reserved", "released", "shipped", "restocked")


def _obj(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    required = [name for name in properties if name not in optional]
    return {"type": "object", "required": required, "properties": properties}


_STR = {"type": "string"}
_LINES = {
    "type": "array",
    "items": _obj({"sku": _STR, "qty": {"type": "integer", "minimum": 1}}),
}
_COUNT = {"type": "integer", "minimum": 0}

SCHEMAS: dict[str, dict[str, Any]] = {
    STOCK_RESERVED: _obj({"order_id": _STR, "customer_id": _STR, "lines": _LINES}),
    STOCK_REJECTED: _obj(
        {
            "order_id": _STR,
            "customer_id": _STR,
            "reason": _STR,
            "short": {
                "type": "array",
                "items": _obj(
                    {
                        "sku": _STR,
                        "requested": {"type": "integer"},
                        "available": {"type": "integer"},
                    }
                ),
            },
        }
    ),
    STOCK_RELEASED: _obj({"order_id": _STR, "lines": _LINES, "reason": _STR}),
    STOCK_LEVEL_CHANGED: _obj(
        {
            "sku": _STR,
            "available": _COUNT,
            "reserved": _COUNT,
            "shipped": _COUNT,
            "change": {"type": "integer"},
            "reason": {"type": "string", "enum": list(REASONS)},
        }
    ),
}

DESCRIPTIONS = {
    STOCK_RESERVED: "Every line of the order is held for it (key: order id).",
    STOCK_REJECTED: (
        "The order could not be reserved in full; 'short' names every SKU "
        "without enough stock, with what was requested and available "
        "(key: order id)."
    ),
    STOCK_RELEASED: (
        "A held reservation went back to available stock (key: order id)."
    ),
    STOCK_LEVEL_CHANGED: (
        "One SKU's levels after a movement (key: SKU). 'change' is the units "
        "moved: negative for reserved and shipped, positive for released and "
        "restocked."
    ),
}

declare_topic(
    TOPIC,
    partitions=8,
    owner="inventory",
    description="Stock reservations (keyed by order id) and SKU levels (by SKU).",
)
for _type, _schema in SCHEMAS.items():
    register_event_type(
        _type,
        topic=TOPIC,
        schema=_schema,
        producer="inventory",
        description=DESCRIPTIONS[_type],
    )
