"""Django admin for event schemas: add a version only if it is compatible.

A new version is refused, with the reason on the form, when it is not valid
JSON Schema, when it is not backward compatible with the stored version
before it (or the one after it would stop being compatible with it), or when
code declares that version differently (``bus sync`` would then refuse the
deploy). Stored versions are immutable: they are viewed, never edited.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError as MetaSchemaError

from console.admin_audit import AuditedAdmin
from eventbus import event_types
from eventbus.exceptions import BusError
from eventbus.models import EventSchema, Topic
from eventbus.schemas import EventType, check_backward_compatible, validate_type_name


class EventSchemaForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = EventSchema
        fields = ["type", "version", "topic", "schema", "description", "producer"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        name, version = data.get("type"), data.get("version")
        topic, schema = data.get("topic"), data.get("schema")
        if None in (name, version, topic, schema):
            return data  # the field errors already say what is missing
        try:
            validate_type_name(name)
        except BusError as exc:
            raise ValidationError({"type": str(exc)}) from exc
        if version < 1:
            raise ValidationError({"version": "Versions start at 1."})
        if not Topic.objects.filter(name=topic).exists():
            raise ValidationError(
                {"topic": f"No topic '{topic}'. Create the topic first."}
            )
        if not isinstance(schema, dict):
            raise ValidationError({"schema": "A JSON Schema is a JSON object."})
        try:
            Draft7Validator.check_schema(schema)
        except MetaSchemaError as exc:
            where = "/".join(map(str, exc.path)) or "the root"
            raise ValidationError(
                {"schema": f"Not valid JSON Schema: {exc.message} (at {where})."}
            ) from exc
        check_against_catalog(EventType(name, version, topic, schema))
        return data


def check_against_catalog(new: EventType) -> None:
    """Raise ``ValidationError`` saying why ``new`` may not be stored."""
    stored = EventSchema.objects.filter(type=new.type)
    elsewhere = stored.exclude(topic=new.topic).values_list("topic", flat=True)
    if elsewhere:
        raise ValidationError(
            {
                "topic": f"'{new.type}' belongs to topic '{elsewhere[0]}'; an event "
                "type belongs to one topic."
            }
        )
    declared = next(
        (t for t in event_types() if (t.type, t.version) == (new.type, new.version)),
        None,
    )
    if declared is not None and (declared.schema, declared.topic) != (
        new.schema,
        new.topic,
    ):
        raise ValidationError(
            f"'{new.type}' v{new.version} is declared in code with another schema "
            "or topic; 'manage.py bus sync' would refuse the deploy. Store the "
            "declared schema, or use the next free version."
        )
    older = stored.filter(version__lt=new.version).order_by("-version").first()
    newer = stored.filter(version__gt=new.version).order_by("version").first()
    try:
        if older is not None:
            check_backward_compatible(_as_type(older), new)
        if newer is not None:
            check_backward_compatible(new, _as_type(newer))
    except BusError as exc:
        raise ValidationError({"schema": str(exc)}) from exc


def _as_type(row: EventSchema) -> EventType:
    return EventType(row.type, row.version, row.topic, row.schema)


def schema_snapshot(row: EventSchema) -> dict[str, Any]:
    """Return a stored version as a JSON-ready dict (for the audit)."""
    return {
        "type": row.type,
        "version": row.version,
        "topic": row.topic,
        "producer": row.producer,
        "schema": row.schema,
    }


@admin.register(EventSchema)
class EventSchemaAdmin(AuditedAdmin):
    form = EventSchemaForm
    list_display = ("type", "version", "topic", "producer", "registered_at")
    list_filter = ("topic", "producer")
    search_fields = ("type", "description")
    shown = ("type", "version", "topic", "producer", "description", "pretty_schema")

    def get_fields(self, request: HttpRequest, obj: EventSchema | None = None) -> Any:
        return self.shown if obj else EventSchemaForm.Meta.fields

    def get_readonly_fields(
        self, request: HttpRequest, obj: EventSchema | None = None
    ) -> Any:
        return self.shown if obj else ()

    @admin.display(description="JSON Schema")
    def pretty_schema(self, obj: EventSchema) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.schema, indent=2, sort_keys=True)
        )

    # Stored versions are immutable: consumers may hold events of each one.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def audit_target(self, obj: EventSchema) -> str:
        return f"event type {obj.type} v{obj.version}"

    def audit_snapshot(self, obj: EventSchema) -> dict[str, Any]:
        return schema_snapshot(obj)

    def save_model(
        self, request: HttpRequest, obj: EventSchema, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        self.audit(request, obj, "schema.add", after=schema_snapshot(obj))
