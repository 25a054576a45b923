"""The AsyncAPI 3.0 catalog of the bus, served at ``/api/asyncapi.json``.

One channel per topic; one message per event type *version*, whose payload
is the CloudEvents envelope with the type's JSON Schema as ``data``; a
``send`` operation per producing service and a ``receive`` operation per
consumer group. Everything comes from the database and the in-process
registries, never from Redis, so the document is served while Redis is down.
"""

from __future__ import annotations

from typing import Any

from console.asyncapi_servers import FEED_PATH, REST_PATH, components, servers
from console.catalog_map import catalog_entries
from eventbus import event_types, list_topics
from eventbus.envelope import CONTENT_TYPE, SPECVERSION
from eventbus.schemas import EventType
from eventbus.topics import TopicInfo

ASYNCAPI_VERSION = "3.0.0"
# The feed and the REST API are both /v1; a breaking change bumps both.
API_VERSION = "1.0.0"
DRAFT_07 = "application/schema+json;version=draft-07"
CLOUDEVENTS_JSON = "application/cloudevents+json"

Document = dict[str, Any]


def message_id(event_type: EventType) -> str:
    """Return the message key of one version, e.g. ``order.placed.v1``."""
    return f"{event_type.type}.v{event_type.version}"


def asyncapi_document(host: str = "localhost:8000", secure: bool = False) -> Document:
    """Return the AsyncAPI 3.0.0 document describing the live catalog."""
    entries = {entry.type: entry for entry in catalog_entries()}
    versions = event_types(include_stored=True)
    topics = {topic.name: topic for topic in list_topics()}
    # A type may be declared on a topic that 'manage.py bus sync' has not
    # created yet; it still gets a channel so that every type is listed.
    names = sorted(topics.keys() | {v.topic for v in versions})
    channels = {
        name: _channel(name, topics.get(name), [v for v in versions if v.topic == name])
        for name in names
    }
    operations: dict[str, Document] = {}
    for entry in entries.values():
        refs = [
            {"$ref": f"#/channels/{entry.topic}/messages/{message_id(v)}"}
            for v in versions
            if v.type == entry.type
        ]
        if entry.producer:
            send = _operation(operations, "send", entry.producer, entry.topic)
            send["messages"].extend(refs)
        for consumer in entry.consumers:
            receive = _operation(operations, "receive", consumer.group, entry.topic)
            if refs[0] not in receive["messages"]:  # one per handler of the group
                receive["messages"].extend(refs)
            if consumer.handler not in receive["x-handlers"]:
                receive["x-handlers"].append(consumer.handler)
    for version in versions:
        entry = entries[version.type]
        message = channels[version.topic]["messages"][message_id(version)]
        message["x-producer"] = entry.producer
        message["x-consumer-groups"] = entry.groups
    scheme = "https" if secure else "http"
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Switchyard event bus",
            "version": API_VERSION,
            "description": (
                "Partitioned, durable topics on Redis Streams. Every event is a "
                "CloudEvents 1.0 envelope in structured JSON whose `data` matches "
                "the JSON Schema of its type and version (`dataschema`). Publish "
                f"over the REST API ({REST_PATH}/; reference at /api/docs/, "
                f"OpenAPI at /api/schema/); read any point of the log, then live, "
                f"over the WebSocket feed ({FEED_PATH})."
            ),
            "externalDocs": {
                "description": "REST API reference",
                "url": f"{scheme}://{host}/api/docs/",
            },
        },
        "defaultContentType": CLOUDEVENTS_JSON,
        "servers": servers(host, secure),
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": components(),
    }


def _operation(
    operations: dict[str, Document], action: str, who: str, topic: str
) -> Document:
    """Return the operation of ``who`` (service or group) on ``topic``, made once."""
    key = f"{who}.{action}.{topic}"
    if key not in operations:
        sends = action == "send"
        title = f"{who} publishes to {topic}" if sends else f"Group {who} reads {topic}"
        operations[key] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{topic}"},
            "title": title,
            "messages": [],
            "tags": [{"name": f"service:{who}" if sends else f"group:{who}"}],
            **({"x-service": who} if sends else {"x-group": who, "x-handlers": []}),
        }
    return operations[key]


def _channel(name: str, topic: TopicInfo | None, versions: list[EventType]) -> Document:
    if topic is None:
        description = (
            f"Declared in code but not created yet: run 'manage.py bus sync' "
            f"to create topic '{name}'."
        )
        details: Document = {}
    else:
        description = topic.description or f"Topic '{name}'."
        details = {
            "x-partitions": topic.partitions,
            "x-retention-ms": topic.retention_ms,
            "x-retention-max-len": topic.retention_max_len,
            "x-overflow-policy": str(topic.overflow_policy),
            "x-owner": topic.owner,
        }
    return {
        "address": name,
        "title": name,
        "description": description,
        "messages": {message_id(v): _message(v) for v in versions},
        "bindings": {"$ref": "#/components/channelBindings/feed"},
        **details,
    }


def _message(event_type: EventType) -> Document:
    return {
        "name": event_type.type,
        "title": f"{event_type.type} v{event_type.version}",
        "summary": event_type.description or f"Event type {event_type.type}.",
        "contentType": CLOUDEVENTS_JSON,
        "payload": {"schemaFormat": DRAFT_07, "schema": _envelope(event_type)},
        "x-event-type": event_type.type,
        "x-version": event_type.version,
        "x-dataschema": event_type.dataschema,
    }


def _envelope(event_type: EventType) -> Document:
    """Return the JSON Schema of the CloudEvent carrying one type version."""
    string = {"type": "string"}
    return {
        "type": "object",
        # dataschema is required: a later version accepts the earlier one's
        # data, so only dataschema tells the versions (messages) apart.
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "time",
            "datacontenttype",
            "dataschema",
            "data",
        ],
        "properties": {
            "specversion": {"const": SPECVERSION},
            "id": {**string, "description": "UUIDv7, unique per event."},
            "source": {**string, "format": "uri-reference"},
            "type": {"const": event_type.type},
            "time": {**string, "format": "date-time"},
            "subject": string,
            "datacontenttype": {"const": CONTENT_TYPE},
            "dataschema": {"const": event_type.dataschema},
            "partitionkey": {
                **string,
                "description": "Events with one key keep their order.",
            },
            "traceparent": string,
            "data": event_type.schema,
            # Position extensions: the feed adds them to every event frame.
            "sytopic": {"const": event_type.topic},
            "sypartition": {"type": "integer", "minimum": 0},
            "syoffset": {
                "type": "string",
                "pattern": "^[0-9]+-[0-9]+$",
                "description": "Stream id; pass it in subscribe 'from' to resume.",
            },
        },
    }
