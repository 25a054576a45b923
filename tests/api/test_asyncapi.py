"""The AsyncAPI 3.0 catalog at /api/asyncapi.json: valid, complete, public."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.urls import reverse
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from console.asyncapi import asyncapi_document
from console.catalog_map import catalog_entries
from console.feed.protocol import event_frame
from eventbus import event_types, publish, read_range, register_event_type, subscribe
from eventbus.consumer import subscriptions
from eventbus.models import EventSchema
from tests.conftest import free_port

SCHEMA = Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json"
RETAIL = {"order", "stock", "shipment", "analytics"}


@pytest.fixture
def isolated_subscriptions() -> Iterator[None]:
    """Subscriptions a test registers are forgotten after it."""
    saved = list(subscriptions._registry._subscriptions)
    yield
    subscriptions._registry._subscriptions[:] = saved


@pytest.fixture
def audit_topic(make_topic, isolated_subscriptions) -> str:
    """A topic with two versions of a type, a producer and one consumer group."""
    make_topic("h3-audit", partitions=3, description="Audit trail of the probe.")
    schema = {"type": "object", "properties": {"who": {"type": "string"}}}
    register_event_type(
        "audit.recorded", topic="h3-audit", schema=schema, producer="auditor"
    )
    v2 = {**schema, "properties": {**schema["properties"], "why": {"type": "string"}}}
    register_event_type(
        "audit.recorded", topic="h3-audit", schema=v2, version=2, producer="auditor"
    )

    @subscribe("h3-audit", group="archivist", types=["audit.*"])
    def archive(event: object) -> None:
        """Do nothing: only the registration matters here."""

    return "h3-audit"


def resolve(document: dict[str, Any], ref: str) -> Any:
    """Return the node a local ``$ref`` (``#/a/b``) points at, or raise KeyError."""
    assert ref.startswith("#/"), f"{ref} is not a local reference"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def describe(error: ValidationError) -> str:
    """Return one line naming the deepest failure under a oneOf/anyOf error."""
    while error.context:
        # The branch that got furthest into the document is the one meant.
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return f"- at /{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"


def test_document_validates_against_the_asyncapi_3_schema(audit_topic):
    """The document is valid under the official AsyncAPI 3.0.0 JSON Schema."""
    schema = json.loads(SCHEMA.read_text())
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    document = asyncapi_document()
    errors = sorted(
        validator.iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    report = "\n".join(describe(e) for e in errors)
    assert not errors, f"{len(errors)} AsyncAPI schema errors:\n{report}"
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "Switchyard event bus"
    assert "/api/docs/" in document["info"]["description"]


def test_every_reference_resolves_and_operations_use_their_channel(audit_topic):
    """Each $ref points into the document; an operation's messages are its
    channel's messages (AsyncAPI requires a subset)."""
    document = asyncapi_document()
    found = list(refs(document))
    assert found
    for ref in found:
        resolve(document, ref)
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert operation["messages"], f"{name} names no messages"
        listed = [m["$ref"] for m in operation["messages"]]
        assert len(listed) == len(set(listed)), f"{name} repeats a message"
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel}/messages/"), name


def test_every_registered_type_version_appears_with_its_schema(audit_topic):
    """Each version of each type, declared in code or stored only in the
    database, is a message on its topic's channel whose CloudEvent payload
    carries that version's schema as data."""
    who = {"type": "string"}
    stored = {"type": "object", "properties": {"who": who, "why": who, "where": who}}
    EventSchema.objects.create(
        type="audit.recorded", version=3, topic=audit_topic, schema=stored
    )
    # The document first: listing the stored versions registers them.
    channels = asyncapi_document()["channels"]
    registered = event_types(include_stored=True)
    assert len({t.type for t in registered}) >= 5  # the retail types and ours
    assert [t.schema for t in registered if t.version == 3] == [stored]
    for event_type in registered:
        messages = channels[event_type.topic]["messages"]
        message = messages[f"{event_type.type}.v{event_type.version}"]
        assert message["payload"]["schemaFormat"].endswith("version=draft-07")
        envelope = message["payload"]["schema"]
        assert envelope["properties"]["data"] == event_type.schema
        assert envelope["properties"]["type"] == {"const": event_type.type}
        assert envelope["properties"]["dataschema"] == {"const": event_type.dataschema}
    listed = sum(len(c["messages"]) for c in channels.values())
    assert listed == len(registered)


def test_published_events_match_exactly_one_message_of_their_channel(audit_topic):
    """A v1 and a v2 event read back from the log, with the feed's position
    attributes, each validate against their own version's message only."""
    publish(audit_topic, "audit.recorded", {"who": "ann"}, key="k", version=1)
    publish(audit_topic, "audit.recorded", {"who": "bob", "why": "x"}, key="k")
    events = read_range(audit_topic).events
    assert len(events) == 2
    messages = asyncapi_document()["channels"][audit_topic]["messages"]
    for event in events:
        frame = orjson.loads(event_frame(event))  # exactly what the feed sends
        matching = [
            name
            for name, message in messages.items()
            if Draft7Validator(message["payload"]["schema"]).is_valid(frame)
        ]
        version = event.dataschema.rsplit(":", 1)[1]
        assert matching == [f"audit.recorded.v{version}"], frame


def test_created_topic_is_a_channel_with_its_producer_and_group(audit_topic):
    """A new topic is a channel; its producer sends and its group receives both
    versions of the type."""
    document = asyncapi_document()
    channel = document["channels"][audit_topic]
    assert channel["address"] == audit_topic
    assert channel["x-partitions"] == 3
    assert channel["description"] == "Audit trail of the probe."
    assert set(channel["messages"]) == {"audit.recorded.v1", "audit.recorded.v2"}
    expected = [
        {"$ref": f"#/channels/{audit_topic}/messages/audit.recorded.v{n}"}
        for n in (1, 2)
    ]
    send = document["operations"][f"auditor.send.{audit_topic}"]
    assert send["action"] == "send" and send["messages"] == expected
    receive = document["operations"][f"archivist.receive.{audit_topic}"]
    assert receive["action"] == "receive" and receive["messages"] == expected
    assert receive["x-handlers"][0].endswith("archive")


def test_retail_producers_send_and_groups_receive(db):
    """order.placed is sent by checkout and received by inventory, contact and
    analytics; every catalog producer and group has its operation."""
    document = asyncapi_document()
    operations = document["operations"]
    placed = {"$ref": "#/channels/orders/messages/order.placed.v1"}
    assert placed in operations["checkout.send.orders"]["messages"]
    for group in ("inventory", "contact", "analytics"):
        assert placed in operations[f"{group}.receive.orders"]["messages"]
    shipping = operations.get("shipping.receive.orders", {"messages": []})
    assert placed not in shipping["messages"]  # it takes order.cancelled only
    entries = catalog_entries()
    assert all(e.producer for e in entries if e.type.split(".")[0] in RETAIL)
    for entry in entries:
        ref = f"#/channels/{entry.topic}/messages/{entry.type}.v1"
        if entry.producer:  # test apps register some types without one
            sent = operations[f"{entry.producer}.send.{entry.topic}"]
            assert {"$ref": ref} in sent["messages"], entry.type
        for group in entry.groups:
            received = operations[f"{group}.receive.{entry.topic}"]
            assert {"$ref": ref} in received["messages"], (entry.type, group)


def test_feed_server_names_the_subprotocol_and_token_auth(db):
    """The feed is a ws server at /ws/v1/events offering cloudevents.json and
    secured by a bearer API token."""
    document = asyncapi_document("bus.example:8443", secure=True)
    feed = document["servers"]["feed"]
    assert (feed["protocol"], feed["host"], feed["pathname"]) == (
        "wss",
        "bus.example:8443",
        "/ws/v1/events",
    )
    assert "`cloudevents.json`" in feed["description"]
    assert feed["x-subprotocol"] == "cloudevents.json"
    assert '"op": "auth"' in feed["description"]
    scheme = resolve(document, feed["security"][0]["$ref"])
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    handshake = resolve(document, "#/components/channelBindings/feed")["ws"]
    protocol = handshake["headers"]["properties"]["Sec-WebSocket-Protocol"]
    assert protocol == {"const": "cloudevents.json"}
    rest = document["servers"]["rest"]
    assert (rest["protocol"], rest["pathname"]) == ("https", "/api/v1")


def test_view_serves_json_without_login(db, client):
    """GET /api/asyncapi.json answers 200 application/json to anyone, with the
    request's host in the servers."""
    response = client.get(reverse("asyncapi"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["feed"]["host"] == "testserver"
    assert document["servers"]["feed"]["protocol"] == "ws"
    assert client.post(reverse("asyncapi")).status_code == 405


def test_view_works_while_redis_is_down(make_topic, client, bus_on):
    """With Redis unreachable the document is still served, topics included."""
    make_topic("h3-offline", partitions=2)
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/api/asyncapi.json")
    assert response.status_code == 200
    assert response.json()["channels"]["h3-offline"]["x-partitions"] == 2
