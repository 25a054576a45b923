"""Django admin for bus objects: topics are edited here, the rest is read-only."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from eventbus.models import ConsumerGroup, EventSchema, OutboxEvent, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "partitions",
        "retention_ms",
        "retention_max_len",
        "overflow_policy",
        "owner",
        "updated_at",
    )
    list_filter = ("overflow_policy", "owner")
    search_fields = ("name", "description", "owner")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Topic | None = None
    ) -> Any:
        # Renaming a topic would orphan its streams; partitions only grow
        # (enforced in Topic.clean, which the admin form calls).
        return (
            ("name", "created_at", "updated_at")
            if obj
            else ("created_at", "updated_at")
        )


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows that change only through actions (which also publish the events)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EventSchema)
class EventSchemaAdmin(ReadOnlyAdmin):
    list_display = ("type", "version", "topic", "producer", "registered_at")
    list_filter = ("topic", "producer")
    search_fields = ("type", "description")
    readonly_fields = (
        "type",
        "version",
        "topic",
        "producer",
        "description",
        "pretty_schema",
    )
    exclude = ("schema",)

    @admin.display(description="JSON Schema")
    def pretty_schema(self, obj: EventSchema) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.schema, indent=2, sort_keys=True)
        )


@admin.register(ConsumerGroup)
class ConsumerGroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "topic", "start", "created_at")
    list_filter = ("topic",)
    search_fields = ("name", "topic")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_id",
        "topic",
        "partition",
        "created_at",
        "published_at",
        "stream_id",
    )
    list_filter = ("topic", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id",)
    exclude = ("payload",)
