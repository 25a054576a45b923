"""Keep the database's copy of event schemas in step with the code.

Services declare event types in code (``events.py``); ``bus sync`` stores
each version in ``EventSchema`` so admin and the console can show them, and
refuses a deploy that edited an already-registered version in place or
dropped backward compatibility against what earlier deploys registered.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventbus.exceptions import SchemaCompatibilityError
from eventbus.models import EventSchema
from eventbus.schemas import EventType, check_backward_compatible, event_types


@dataclass(frozen=True)
class SchemaSyncResult:
    added: list[str]
    unchanged: list[str]


def sync_schemas(types: list[EventType] | None = None) -> SchemaSyncResult:
    """Store new schema versions; raise if a stored version changed or broke."""
    types = event_types() if types is None else types
    added: list[str] = []
    unchanged: list[str] = []
    for event_type in types:
        label = f"{event_type.type} v{event_type.version}"
        stored = EventSchema.objects.filter(
            type=event_type.type, version=event_type.version
        ).first()
        if stored is not None:
            if stored.schema != event_type.schema or stored.topic != event_type.topic:
                raise SchemaCompatibilityError(
                    f"{label} differs from the schema registered on "
                    f"{stored.registered_at:%Y-%m-%d}. Published versions are "
                    "immutable: restore it and declare the change as version "
                    f"{event_type.version + 1}."
                )
            unchanged.append(label)
            continue
        older = (
            EventSchema.objects.filter(
                type=event_type.type, version__lt=event_type.version
            )
            .order_by("-version")
            .first()
        )
        if older is not None:
            check_backward_compatible(_as_type(older), event_type)
        EventSchema.objects.create(
            type=event_type.type,
            version=event_type.version,
            topic=event_type.topic,
            schema=event_type.schema,
            description=event_type.description,
            producer=event_type.producer,
        )
        added.append(label)
    return SchemaSyncResult(added, unchanged)


def _as_type(row: EventSchema) -> EventType:
    return EventType(row.type, row.version, row.topic, row.schema)
