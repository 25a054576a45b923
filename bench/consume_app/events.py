"""The benchmark's event types (topic rows are created by the bench).

Every type uses the publish benchmark's ~250-byte order schema, so consumers
validate the same data that bench/publish.py measures.
"""

from __future__ import annotations

from bench.consume_app.names import (
    IDEM_TOPIC,
    IDEM_TYPE,
    LATENCY_TOPIC,
    LATENCY_TYPE,
    TOPIC,
    TYPE,
)
from bench.publish import SCHEMA
from eventbus import register_event_type

LATENCY_SCHEMA = {
    **SCHEMA,
    "required": [*SCHEMA["required"], "sent_ns"],
    "properties": {**SCHEMA["properties"], "sent_ns": {"type": "integer"}},
}

register_event_type(TYPE, topic=TOPIC, schema=SCHEMA, producer="bench")
register_event_type(IDEM_TYPE, topic=IDEM_TOPIC, schema=SCHEMA, producer="bench")
register_event_type(
    LATENCY_TYPE, topic=LATENCY_TOPIC, schema=LATENCY_SCHEMA, producer="bench"
)
