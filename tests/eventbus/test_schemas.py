"""Schemas: compiled validation, clear violations, backward compatibility."""

from __future__ import annotations

import pytest

from eventbus.catalog import sync_schemas
from eventbus.exceptions import (
    InvalidEventType,
    SchemaCompatibilityError,
    SchemaError,
    SchemaViolation,
    UnknownEventType,
)
from eventbus.models import EventSchema
from eventbus.schemas import get_event_type, register_event_type

V1 = {
    "type": "object",
    "required": ["order_id", "total"],
    "properties": {
        "order_id": {"type": "string"},
        "total": {"type": "integer", "minimum": 0},
        "channel": {"type": "string", "enum": ["web", "app"]},
    },
}


def test_data_that_breaks_the_schema_is_refused_with_the_field():
    order = register_event_type("order.placed", topic="orders", schema=V1)
    order.validate({"order_id": "o1", "total": 5})
    with pytest.raises(
        SchemaViolation, match="data.total: -1 is less than the minimum of 0"
    ):
        order.validate({"order_id": "o1", "total": -1})
    with pytest.raises(SchemaViolation, match="order_id"):
        order.validate({"total": 1})


@pytest.mark.parametrize(
    "name", ["placed", "Order.Placed", "order..placed", "order.placed!"]
)
def test_bad_type_names_are_refused(name):
    with pytest.raises(InvalidEventType, match="dotted lower-case"):
        register_event_type(name, topic="orders", schema=V1)


def test_an_invalid_json_schema_is_refused():
    with pytest.raises(SchemaError, match="not valid JSON Schema"):
        register_event_type("order.placed", topic="orders", schema={"type": "objekt"})


def test_registration_is_idempotent_and_versions_are_immutable():
    first = register_event_type("order.placed", topic="orders", schema=V1)
    assert register_event_type("order.placed", topic="orders", schema=V1) is first
    with pytest.raises(SchemaCompatibilityError, match="immutable"):
        register_event_type("order.placed", topic="orders", schema={"type": "object"})


def test_a_compatible_new_version_becomes_the_default():
    register_event_type("order.placed", topic="orders", schema=V1)
    widened = {
        **V1,
        "properties": {
            **V1["properties"],
            "coupon": {"type": "string"},
            "channel": {"type": "string", "enum": ["web", "app", "pos"]},
        },
    }
    register_event_type("order.placed", topic="orders", schema=widened, version=2)
    assert get_event_type("orders", "order.placed").version == 2
    assert get_event_type("orders", "order.placed", 1).version == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            {"required": ["order_id", "total", "coupon"]},
            "new required field(s) ['coupon']",
        ),
        (
            {"properties": {**V1["properties"], "total": {"type": "string"}}},
            "data.total: type changed",
        ),
        (
            {
                "properties": {
                    **V1["properties"],
                    "channel": {"type": "string", "enum": ["web"]},
                }
            },
            "data.channel: enum narrowed (removed ['app'])",
        ),
        (
            {
                "properties": {
                    **V1["properties"],
                    "total": {"type": "integer", "minimum": 1},
                }
            },
            "data.total: minimum tightened to 1",
        ),
        ({"additionalProperties": False}, "additionalProperties set to false"),
    ],
)
def test_breaking_changes_are_refused_naming_the_change(change, named):
    register_event_type("order.placed", topic="orders", schema=V1)
    with pytest.raises(SchemaCompatibilityError) as caught:
        register_event_type(
            "order.placed", topic="orders", schema={**V1, **change}, version=2
        )
    assert named in str(caught.value)
    assert "not backward compatible with v1" in str(caught.value)


def test_an_event_type_belongs_to_one_topic():
    register_event_type("order.placed", topic="orders", schema=V1)
    with pytest.raises(SchemaError, match="already declared on topic 'orders'"):
        register_event_type("order.placed", topic="sales", schema=V1, version=2)


def test_unknown_type_lists_the_types_of_the_topic(db):
    register_event_type("order.placed", topic="orders", schema=V1)
    with pytest.raises(UnknownEventType, match="Types declared on it: order.placed"):
        get_event_type("orders", "order.shipped")


def test_sync_stores_schemas_and_refuses_an_edited_version(db):
    order = register_event_type("order.placed", topic="orders", schema=V1)
    assert sync_schemas([order]).added == ["order.placed v1"]
    assert sync_schemas([order]).unchanged == ["order.placed v1"]
    assert EventSchema.objects.get(type="order.placed").schema == V1

    from eventbus.schemas import EventType

    edited = EventType("order.placed", 1, "orders", {"type": "object"})
    with pytest.raises(
        SchemaCompatibilityError, match="declare the change as version 2"
    ):
        sync_schemas([edited])


def test_sync_checks_compatibility_against_versions_of_earlier_deploys(db):
    sync_schemas([register_event_type("order.placed", topic="orders", schema=V1)])
    from eventbus.schemas import EventType

    # A later deploy that dropped v1 from code and ships an incompatible v2.
    breaking = EventType(
        "order.placed", 2, "orders", {**V1, "required": ["order_id", "x"]}
    )
    with pytest.raises(SchemaCompatibilityError, match="new required field"):
        sync_schemas([breaking])


READING = {
    "type": "object",
    "required": ["celsius"],
    "properties": {"celsius": {"type": "number"}},
}


def test_a_type_stored_only_in_the_database_is_published_and_validated(make_topic, bus):
    """A schema added in admin (an EventSchema row) serves producers without code."""
    from eventbus import publish, read_range

    make_topic("telemetry", partitions=1)
    EventSchema.objects.create(
        type="device.read", version=1, topic="telemetry", schema=READING
    )
    publish("telemetry", "device.read", {"celsius": 21.5})
    with pytest.raises(SchemaViolation, match="celsius"):
        publish("telemetry", "device.read", {"celsius": "warm"})
    assert [e.data for e in read_range("telemetry").events] == [{"celsius": 21.5}]
    with pytest.raises(UnknownEventType):
        get_event_type("telemetry", "device.unknown")


def test_a_newer_stored_version_of_a_stored_type_serves_version_less_publishes(
    make_topic, bus, settings
):
    """A v2 added in admin is published without a restart, once the cache is due."""
    from eventbus import publish, read_range

    settings.BUS = {**settings.BUS, "TOPIC_CACHE_SECONDS": 3600}
    make_topic("telemetry", partitions=1)
    EventSchema.objects.create(
        type="device.read", version=1, topic="telemetry", schema=READING
    )
    publish("telemetry", "device.read", {"celsius": 21.5})
    v2 = {
        **READING,
        "properties": {**READING["properties"], "unit": {"type": "string"}},
    }
    EventSchema.objects.create(
        type="device.read", version=2, topic="telemetry", schema=v2
    )
    publish("telemetry", "device.read", {"celsius": 22.0})  # not due: still v1
    settings.BUS = {**settings.BUS, "TOPIC_CACHE_SECONDS": 0}
    publish("telemetry", "device.read", {"celsius": 23.0, "unit": "C"})
    versions = [e.dataschema.rsplit(":", 1)[-1] for e in read_range("telemetry").events]
    assert versions == ["1", "1", "2"]
    assert get_event_type("telemetry", "device.read").version == 2


def test_code_versions_come_first_and_a_stored_newer_one_serves_when_asked(db):
    """Version-less lookups keep code's latest; a stored v2 is used when named."""
    register_event_type("order.placed", topic="orders", schema=V1)
    v2 = {**V1, "properties": {**V1["properties"], "note": {"type": "string"}}}
    EventSchema.objects.create(
        type="order.placed", version=2, topic="orders", schema=v2
    )
    assert get_event_type("orders", "order.placed").version == 1
    assert get_event_type("orders", "order.placed", 2).schema == v2
    assert get_event_type("orders", "order.placed").version == 2  # now registered


def test_loading_stored_types_skips_a_row_that_contradicts_code(db, caplog):
    """A stored version unlike code's is left out with a warning; code wins."""
    register_event_type("order.placed", topic="orders", schema=V1)
    EventSchema.objects.create(
        type="order.placed", version=1, topic="orders", schema={"type": "object"}
    )
    EventSchema.objects.create(
        type="device.read", version=1, topic="telemetry", schema=READING
    )
    from eventbus import event_types

    assert "device.read" not in {t.type for t in event_types()}
    listed = {(t.type, t.version): t for t in event_types(include_stored=True)}
    assert listed[("order.placed", 1)].schema == V1
    assert listed[("device.read", 1)].schema == READING
