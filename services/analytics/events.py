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

_WINDOW_CLOSED_V1: dict[str, Any] = {
    "type": "object",
    "required": ["window", "start", "end", "metrics"],
    "properties": {
        "window": _STR,
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "metrics": {"type": "object"},
    },
}
# v2 only adds the optional 'revision', so every v1 event stays valid (the
# compatibility check of register_event_type and `bus sync`); absent means 1.
_WINDOW_CLOSED_V2: dict[str, Any] = {
    **_WINDOW_CLOSED_V1,
    "properties": {
        **_WINDOW_CLOSED_V1["properties"],
        "revision": {"type": "integer", "minimum": 1},
    },
}

# Every version of each type, oldest first; publish uses the newest.
SCHEMAS: dict[str, dict[int, dict[str, Any]]] = {
    WINDOW_CLOSED: {1: _WINDOW_CLOSED_V1, 2: _WINDOW_CLOSED_V2},
}

DESCRIPTIONS = {
    WINDOW_CLOSED: (
        "A window over the order stream closed, by event time (key: window "
        "name). 'orders_per_minute': orders, revenue_cents, cancellations, "
        "stock_outs of one minute; 'top_skus_5m': skus, the top 5 SKUs by "
        "units over the 5 minutes ending at 'end'. Start inclusive, end "
        "exclusive, ISO 8601 UTC. 'revision' (v2): 1 when the window first "
        "closes, +1 for each correction a late event caused; the newest "
        "revision of a (window, start) replaces the earlier ones."
    ),
}

declare_topic(
    TOPIC,
    partitions=4,
    owner="analytics",
    description="Derived events of analytics: closed stream windows.",
)
for _type, _versions in SCHEMAS.items():
    for _version, _schema in sorted(_versions.items()):
        register_event_type(
            _type,
            topic=TOPIC,
            schema=_schema,
            version=_version,
            producer="analytics",
            description=DESCRIPTIONS[_type],
        )
