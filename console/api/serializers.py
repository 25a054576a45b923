"""Bodies and parameters of the events, topics and event-types endpoints.

Input serializers parse; output serializers document what views render
(views build plain dicts; the fuzz tests check they match these).
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

# W3C trace context: version-trace_id-parent_id-flags.
TRACEPARENT_RE = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class StrictCharField(serializers.CharField):
    """A string that must be a JSON string: DRF would turn 7 into "7"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON number, not "2", 2.5 or true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


def _optional(max_length: int, help_text: str) -> StrictCharField:
    return StrictCharField(
        required=False, allow_null=True, max_length=max_length, help_text=help_text
    )


class PublishSerializer(serializers.Serializer):
    """One event to publish; ``time`` is set by the bus when it is appended."""

    type = StrictCharField(max_length=200, help_text="Event type, e.g. order.placed.")
    data = serializers.JSONField(
        allow_null=True, help_text="The payload; checked against the type's schema."
    )
    key = _optional(200, "Partition key: events with one key keep their order.")
    subject = _optional(200, "CloudEvents subject, e.g. the order id.")
    version = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=10_000,
        help_text="Schema version; the latest when left out.",
    )
    id = _optional(200, "CloudEvents id; a UUIDv7 is made when left out.")
    source = _optional(500, "CloudEvents source; BUS['SOURCE'] when left out.")
    traceparent = StrictCharField(
        required=False,
        allow_null=True,
        max_length=55,
        help_text="W3C trace context of the request that caused the event.",
    )

    def validate_traceparent(self, value: str | None) -> str | None:
        if value is not None and not re.match(TRACEPARENT_RE, value):
            raise serializers.ValidationError(
                "Use the W3C form 00-<32 hex>-<16 hex>-<2 hex>."
            )
        return value

    def validate_id(self, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise serializers.ValidationError("An event id cannot be blank.")
        return value


class BatchEventSerializer(PublishSerializer):
    """One event of a batch: like a single publish, plus its topic."""

    topic = StrictCharField(max_length=100, help_text="The topic to publish to.")


class BatchSerializer(serializers.Serializer):
    """A batch: all of it is published, or (on any error) none of it."""

    events = serializers.ListField(
        child=BatchEventSerializer(),
        min_length=1,
        help_text="At most API['MAX_BATCH'] events (413 above that).",
    )


class PositionSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField()
    id = serializers.CharField(help_text="Stream id, e.g. 1700000000000-0.")


class PublishedSerializer(serializers.Serializer):
    """Where a published event landed."""

    id = serializers.CharField(help_text="The event's CloudEvents id.")
    position = PositionSerializer()


class BatchPublishedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    published = PublishedSerializer(many=True)


class EventSerializer(serializers.Serializer):
    """A CloudEvent (structured JSON) with its position in the log."""

    id = serializers.CharField()
    source = serializers.CharField()
    specversion = serializers.CharField()
    type = serializers.CharField()
    time = serializers.CharField()
    datacontenttype = serializers.CharField(required=False)
    dataschema = serializers.CharField(required=False)
    subject = serializers.CharField(required=False)
    partitionkey = serializers.CharField(required=False)
    traceparent = serializers.CharField(required=False)
    data = serializers.JSONField(allow_null=True)
    position = PositionSerializer()


class EventPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass back as ?cursor= for the next page."
    )


class ReadQuerySerializer(serializers.Serializer):
    """Which events of a topic to read, and which page."""

    start = serializers.CharField(
        required=False,
        help_text="Inclusive: ms since the epoch, ISO 8601 time (UTC if no "
        "zone), stream id (1700000000000-0) or a UUIDv7 event id.",
    )
    end = serializers.CharField(required=False, help_text="Exclusive; as start.")
    partition = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=1023),
        required=False,
        help_text="Partitions to read (repeat the parameter); all by default.",
    )
    type = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Event type patterns such as order.* (repeat for several).",
    )
    key = serializers.CharField(required=False, max_length=200)
    subject = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    cursor = serializers.CharField(required=False, max_length=4000)
    order = serializers.ChoiceField(
        choices=["oldest", "newest"], required=False, help_text="Default oldest."
    )


class PartitionStatsSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    length = serializers.IntegerField()
    first_id = serializers.CharField(allow_null=True)
    last_id = serializers.CharField(allow_null=True)


class TopicSerializer(serializers.Serializer):
    name = serializers.CharField()
    partitions = serializers.IntegerField()
    retention_ms = serializers.IntegerField(allow_null=True)
    retention_max_len = serializers.IntegerField(allow_null=True)
    overflow_policy = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    owner = serializers.CharField(allow_blank=True)
    length = serializers.IntegerField(help_text="Events held, all partitions.")


class TopicDetailSerializer(TopicSerializer):
    partition_stats = PartitionStatsSerializer(many=True)


class TopicListSerializer(serializers.Serializer):
    topics = TopicSerializer(many=True)


class SchemaVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    dataschema = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    producer = serializers.CharField(allow_blank=True)
    schema = serializers.JSONField(help_text="JSON Schema (draft 7) of the data.")


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    topic = serializers.CharField()
    latest_version = serializers.IntegerField()
    versions = SchemaVersionSerializer(many=True)


class EventTypeListSerializer(serializers.Serializer):
    event_types = EventTypeSerializer(many=True)
