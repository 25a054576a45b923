"""The analytics topic and the derived events analytics publishes on it."""

from __future__ import annotations

from typing import Any

from eventbus import declare_topic, register_event_type

TOPIC = "analytics"

WINDOW_CLOSED = "analytics.window_closed"

# The windows analytics closes (the ``window`` field of WINDOW_CLOSED).
ORDERS_PER_MINUTE = "orders_per_minute"
TOP_SKUS_5M = "top_skus_5m"

_STR = {"type": "string"}

SCHEMAS: dict[str, dict[str, Any]] = {
    WINDOW_CLOSED: {
        "type": "object",
        "required": ["window", "start", "end", "metrics"],
        "properties": {
            "window": _STR,
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "metrics": {"type": "object"},
        },
    },
}

DESCRIPTIONS = {
    WINDOW_CLOSED: (
        "A window over the order stream closed, by event time (key: window "
        "name). 'orders_per_minute': orders, revenue_cents, cancellations, "
        "stock_outs of one minute; 'top_skus_5m': skus, the top 5 SKUs by "
        "units over the 5 minutes ending at 'end'. Start inclusive, end "
        "exclusive, ISO 8601 UTC."
    ),
}

declare_topic(
    TOPIC,
    partitions=4,
    owner="analytics",
    description="Derived events of analytics: closed stream windows.",
)
for _type, _schema in SCHEMAS.items():
    register_event_type(
        _type,
        topic=TOPIC,
        schema=_schema,
        producer="analytics",
        description=DESCRIPTIONS[_type],
    )
