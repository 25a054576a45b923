"""Event types the runtime tests publish (topic rows are created by the tests)."""

from eventbus import register_event_type

PROBE_TOPIC = "probe"
PROBE_HAPPENED = "probe.happened"
OTHER_TYPE = "probe.ignored"

register_event_type(
    PROBE_HAPPENED,
    topic=PROBE_TOPIC,
    schema={
        "type": "object",
        "required": ["seq"],
        "properties": {
            "seq": {"type": "integer"},
            "key": {"type": "string"},
            "fail": {"type": "integer", "minimum": 0},
            "fail_for": {"type": "string"},
            "sleep": {"type": "number", "minimum": 0},
            "sleep_times": {"type": "integer", "minimum": 0},
            "die": {"type": "boolean"},
        },
    },
    producer="tests",
)
register_event_type(OTHER_TYPE, topic=PROBE_TOPIC, schema={"type": "object"})
