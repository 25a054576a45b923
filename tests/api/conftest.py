"""Bus API fixtures: topics with event types, real tokens, clients that send them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.test import Client

from console.tokens import token_create
from eventbus import create_group, publish, register_event_type
from eventbus.deadletters import add_dead_letter, dead_letter_from
from eventbus.envelope import FIELD
from eventbus.keys import dead_letter_key, stream_key
from eventbus.producer import Published
from tests.console.conftest import client_as, console_users  # noqa: F401

SHAPE = {"type", "title", "detail", "errors"}
GADGET_SCHEMA = {
    "type": "object",
    "properties": {
        "gadget_id": {"type": "string"},
        "amount": {"type": "integer", "minimum": 0},
        "lines": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
    },
    "required": ["gadget_id", "amount"],
}


@pytest.fixture
def topics(bus: redis.Redis, make_topic: Callable[..., Any]) -> redis.Redis:
    """Topics 'gadgets' (4 partitions) and 'ledger' (2), with their event types."""
    make_topic("gadgets", partitions=4, retention_ms=86_400_000)
    make_topic("ledger", partitions=2)
    register_event_type("gadget.built", topic="gadgets", schema=GADGET_SCHEMA)
    register_event_type("gadget.scrapped", topic="gadgets", schema={"type": "object"})
    register_event_type("ledger.posted", topic="ledger", schema={"type": "object"})
    return bus


class Api:
    """A test client that sends one token (or none) as a Bearer header."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or Client(headers=headers)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {})

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        raw = body if isinstance(body, str | bytes) else json.dumps(body or {})
        content_type = extra.pop("content_type", "application/json")
        return self.client.post(path, raw, content_type=content_type, **extra)


@pytest.fixture
def make_token(db: None) -> Callable[..., str]:
    """Create a real API token with the given scopes; return its plaintext."""

    def make(*scopes: str, **fields: Any) -> str:
        _, plaintext = token_create(
            name=fields.pop("name", "test"), scopes=scopes, **fields
        )
        return plaintext

    return make


@pytest.fixture
def api_as(make_token: Callable[..., str]) -> Callable[..., Api]:
    """Return a client holding a new token with the given scopes."""

    def make(*scopes: str, **fields: Any) -> Api:
        return Api(make_token(*scopes, **fields))

    return make


def assert_problem(response: Any, status: int, type_: str | None = None) -> dict:
    """Assert the response is the one error shape with this status (and type)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert set(body) == SHAPE, body
    assert body["title"] and body["detail"], body
    if type_ is not None:
        assert body["type"] == type_, body
    return body


def place(n: int = 1, *, key: str | None = None, amount: int = 10) -> Published:
    """Publish one valid gadget.built through the bus itself."""
    data = {"gadget_id": f"o-{n}", "amount": amount}
    return publish("gadgets", "gadget.built", data, key=key or f"o-{n}")


def dead_letter(client: redis.Redis, published: Published, group: str) -> str:
    """Dead-letter a logged event for ``group`` as a worker would; return its id."""
    pos = published.position
    rows = client.xrange(
        stream_key(pos.topic, pos.partition), pos.stream_id, pos.stream_id
    )
    try:
        raise ValueError("no stock for the order")
    except ValueError as failure:
        letter = dead_letter_from(
            pos.topic,
            group,
            pos.partition,
            pos.stream_id,
            rows[0][1][FIELD],
            failure,
            3,
            1_000,
            2_000,
            3_000,
        )
    add_dead_letter(client, letter)
    found = client.xrevrange(dead_letter_key(pos.topic, group), count=1)
    return found[0][0].decode()


@pytest.fixture
def group(topics: redis.Redis) -> str:
    """A consumer group 'shipping' on 'gadgets' from the earliest event."""
    create_group("gadgets", "shipping", start="earliest")
    return "shipping"
