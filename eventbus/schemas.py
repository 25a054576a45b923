"""Event types and their JSON Schemas, declared next to the producer.

Each version's validator is compiled once (jsonschema-rs) at registration,
so publish never re-parses a schema. A new version must be backward
compatible with the previous one: every event valid under the old schema
must stay valid under the new one, so consumers written for the new version
can still read old events on replay.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema_rs
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError as MetaSchemaError

from eventbus.conf import bus_settings
from eventbus.envelope import dataschema_uri
from eventbus.exceptions import (
    InvalidEventType,
    NotSerializable,
    SchemaCompatibilityError,
    SchemaError,
    SchemaViolation,
    UnknownEventType,
)
from eventbus.topics import validate_topic_name

logger = logging.getLogger(__name__)

TYPE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class EventType:
    """One version of one event type: its topic, schema and compiled validator."""

    type: str
    version: int
    topic: str
    schema: dict[str, Any]
    description: str = ""
    producer: str = ""

    @cached_property
    def dataschema(self) -> str:
        return dataschema_uri(self.type, self.version)

    @cached_property
    def validator(self) -> Any:
        """Return the compiled validator (Rust: ~6x faster than fastjsonschema)."""
        return jsonschema_rs.Draft7Validator(self.schema)

    def validate(self, data: Any) -> None:
        """Raise ``SchemaViolation`` when ``data`` does not match the schema."""
        try:
            self.validator.validate(data)
        except jsonschema_rs.ValidationError as exc:
            where = "data" + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}"
                for part in exc.instance_path
            )
            raise SchemaViolation(
                f"Data for '{self.type}' v{self.version} does not match its "
                f"schema: {where}: {exc.message}. Fix the data or publish a "
                "schema version that allows it."
            ) from exc
        except ValueError as exc:  # a value JSON has no type for, e.g. an int key
            raise NotSerializable(
                f"The data of this '{self.type}' event cannot be encoded as JSON "
                f"({exc}). Pass only dicts with string keys, lists, strings, "
                "numbers, booleans and None."
            ) from exc


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._types: dict[str, dict[int, EventType]] = {}

    def add(self, event_type: EventType) -> EventType:
        with self._lock:
            versions = self._types.setdefault(event_type.type, {})
            existing = versions.get(event_type.version)
            if existing is not None:
                if (
                    existing.schema == event_type.schema
                    and existing.topic == event_type.topic
                ):
                    return existing
                raise SchemaCompatibilityError(
                    f"'{event_type.type}' v{event_type.version} is already registered "
                    "with a different schema or topic. Published versions are "
                    "immutable: register the change as a new version."
                )
            other_topics = {v.topic for v in versions.values()} - {event_type.topic}
            if other_topics:
                raise SchemaError(
                    f"'{event_type.type}' is already declared on topic "
                    f"'{other_topics.pop()}'; an event type belongs to one topic."
                )
            previous = [v for n, v in versions.items() if n < event_type.version]
            following = [v for n, v in versions.items() if n > event_type.version]
            if previous:
                check_backward_compatible(
                    max(previous, key=lambda v: v.version), event_type
                )
            if following:
                check_backward_compatible(
                    event_type, min(following, key=lambda v: v.version)
                )
            versions[event_type.version] = event_type
            return event_type

    def get(self, type_name: str, version: int | None = None) -> EventType | None:
        versions = self._types.get(type_name)
        if not versions:
            return None
        if version is None:
            return versions[max(versions)]
        return versions.get(version)

    def all(self) -> list[EventType]:
        return [v for versions in self._types.values() for v in versions.values()]

    def unregister(self, type_name: str) -> None:
        with self._lock:
            self._types.pop(type_name, None)


_registry = _Registry()
# Types code does not declare, loaded from EventSchema rows: when this process
# last looked for their latest stored version (time.monotonic()).
_stored_checked: dict[str, float] = {}


def validate_type_name(name: str) -> str:
    if not isinstance(name, str) or not TYPE_NAME_RE.match(name) or len(name) > 200:
        raise InvalidEventType(
            f"{name!r} is not a valid event type. Use dotted lower-case words in "
            "the past tense, e.g. 'order.placed' or 'stock.level_changed'."
        )
    return name


def register_event_type(
    type: str,
    *,
    topic: str,
    schema: dict[str, Any],
    version: int = 1,
    description: str = "",
    producer: str = "",
) -> EventType:
    """Register (idempotently) one version of an event type with its schema."""
    validate_type_name(type)
    validate_topic_name(topic)
    if not isinstance(version, int) or version < 1:
        raise SchemaError(
            f"'{type}': version must be a whole number >= 1, not {version!r}."
        )
    try:
        Draft7Validator.check_schema(schema)
    except MetaSchemaError as exc:
        raise SchemaError(
            f"The schema of '{type}' v{version} is not valid JSON Schema: "
            f"{exc.message} (at {'/'.join(map(str, exc.path)) or 'the root'})."
        ) from exc
    event_type = EventType(type, version, topic, schema, description, producer)
    event_type.validator  # noqa: B018  (compile now, not on the first publish)
    return _registry.add(event_type)


def get_event_type(topic: str, type: str, version: int | None = None) -> EventType:
    """Return the registered event type (latest version by default) on ``topic``.

    Versions declared in code come first. A type or version that code does
    not declare is looked up among the stored schemas (``EventSchema`` rows,
    e.g. added in Django admin for producers outside this codebase) and
    registered in this process on first use.
    """
    event_type = _registry.get(type, version)
    if event_type is None:
        event_type = _load_stored(type, version)
    elif version is None and type in _stored_checked and _due(type):
        # A newer version added in admin serves version-less publishes soon.
        event_type = _load_stored(type, None) or event_type
    if event_type is None or event_type.topic != topic:
        validate_type_name(type)
        known = sorted(t.type for t in _registry.all() if t.topic == topic)
        hint = (
            f" Types declared on it: {', '.join(sorted(set(known)))}." if known else ""
        )
        which = f"'{type}' v{version}" if version else f"'{type}'"
        raise UnknownEventType(
            f"Event type {which} is not declared on topic '{topic}'.{hint} "
            "Declare it with eventbus.register_event_type() in the producing "
            "service's events.py."
        )
    return event_type


def _load_stored(type_name: str, version: int | None) -> EventType | None:
    """Register the stored version asked for (the latest: None) and return it."""
    from eventbus.models import EventSchema

    rows = EventSchema.objects.filter(type=type_name)
    if version is not None:
        rows = rows.filter(version=version)
    row = rows.order_by("-version").first()
    if row is None:
        return None
    if _registry.get(type_name, None) is None:
        _stored_checked[type_name] = time.monotonic()  # code does not declare it
    elif version is None and type_name in _stored_checked:
        _stored_checked[type_name] = time.monotonic()
        latest = _registry.get(type_name, None)
        if latest is not None and latest.version >= row.version:
            return latest
    return _register_row(row)


def _due(type_name: str) -> bool:
    """Return whether a stored-only type's latest version should be looked up again."""
    waited = time.monotonic() - _stored_checked[type_name]
    return waited >= bus_settings().topic_cache_seconds


def _register_row(row: Any) -> EventType:
    return register_event_type(
        row.type,
        topic=row.topic,
        schema=row.schema,
        version=row.version,
        description=row.description,
        producer=row.producer,
    )


def load_stored_event_types() -> list[EventType]:
    """Register every stored version that code does not declare; return them.

    A stored version that contradicts code (another schema or topic) is left
    out with a warning: code wins, and ``bus sync`` reports the conflict.
    """
    from eventbus.models import EventSchema

    loaded = []
    for row in EventSchema.objects.order_by("type", "version"):
        if _registry.get(row.type, row.version) is not None:
            continue
        if _registry.get(row.type, None) is None:
            _stored_checked[row.type] = time.monotonic()
        try:
            loaded.append(_register_row(row))
        except SchemaError as exc:
            logger.warning(
                "Stored schema %s v%s not loaded: %s", row.type, row.version, exc
            )
    return loaded


def event_types(*, include_stored: bool = False) -> list[EventType]:
    """Return every registered version of every event type.

    ``include_stored`` first registers the stored versions that code does not
    declare (``load_stored_event_types``): what catalogs and publish forms
    should list. Without it: what this process has registered so far.
    """
    if include_stored:
        load_stored_event_types()
    return sorted(_registry.all(), key=lambda t: (t.type, t.version))


def unregister_event_type(type: str) -> None:
    """Forget every version of ``type`` (for tests and reloading)."""
    _registry.unregister(type)
    _stored_checked.pop(type, None)


# --- backward compatibility -------------------------------------------------


def check_backward_compatible(old: EventType, new: EventType) -> None:
    """Raise when data valid under ``old`` could be invalid under ``new``."""
    problems = _compare(old.schema, new.schema, "data")
    if problems:
        raise SchemaCompatibilityError(
            f"'{new.type}' v{new.version} is not backward compatible with "
            f"v{old.version}: {'; '.join(problems)}. Keep old events valid "
            "(make new fields optional, widen rather than narrow), or publish "
            "the change as a new event type."
        )


_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _types_of(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    types = {declared} if isinstance(declared, str) else set(declared)
    if "number" in types:
        types.add("integer")
    return types


def _compare(old: Any, new: Any, where: str) -> list[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else [f"{where}: the schema changed shape"]
    problems: list[str] = []
    old_types, new_types = _types_of(old), _types_of(new)
    if new_types is not None:
        if old_types is None:
            problems.append(f"{where}: type restricted to {sorted(new_types)}")
        elif not old_types <= new_types:
            problems.append(
                f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}"
            )
    if "enum" in new:
        old_enum = old.get("enum")
        if old_enum is None or not set(map(repr, old_enum)) <= set(
            map(repr, new["enum"])
        ):
            removed = [v for v in (old_enum or []) if v not in new["enum"]]
            problems.append(
                f"{where}: enum narrowed (removed {removed or 'any value'})"
            )
    if "const" in new and old.get("const") != new["const"]:
        problems.append(f"{where}: const added or changed")
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    if added_required:
        problems.append(f"{where}: new required field(s) {sorted(added_required)}")
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    if new.get("additionalProperties") is False:
        if old.get("additionalProperties") is not False:
            problems.append(f"{where}: additionalProperties set to false")
        removed = sorted(set(old_props) - set(new_props))
        if removed:
            problems.append(f"{where}: field(s) {removed} removed")
    for name, old_prop in old_props.items():
        if name in new_props:
            problems.extend(_compare(old_prop, new_props[name], f"{where}.{name}"))
    for key in _LOWER_BOUNDS + _UPPER_BOUNDS:
        if key not in new or new[key] == old.get(key):
            continue
        before = old.get(key)
        if before is None or (
            new[key] > before if key in _LOWER_BOUNDS else new[key] < before
        ):
            problems.append(f"{where}: {key} tightened to {new[key]}")
    if "pattern" in new and old.get("pattern") != new["pattern"]:
        problems.append(f"{where}: pattern added or changed")
    if "items" in old and "items" in new:
        problems.extend(_compare(old["items"], new["items"], f"{where}[]"))
    elif "items" in new:
        problems.append(f"{where}: items restricted")
    return problems
