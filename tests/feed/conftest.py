"""Feed fixtures: a topic with event types, tokens, sockets through the routing."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from console.feed.protocol import SUBPROTOCOL
from console.routing import websocket_urlpatterns
from console.tokens import token_create
from eventbus import publish, register_event_type

APP = URLRouter(websocket_urlpatterns)
PLACED, SHIPPED = "feedtest.placed", "feedtest.shipped"


@pytest.fixture
def orders(make_topic) -> str:
    """A 4-partition topic with two event types."""
    make_topic("orders", partitions=4)
    for name in (PLACED, SHIPPED):
        register_event_type(name, topic="orders", schema={"type": "object"})
    return "orders"


@pytest.fixture
def token(orders) -> Any:
    """Return ``make(scopes, **fields) -> plaintext`` creating real tokens."""

    def make(*scopes: str, **fields: Any) -> str:
        return token_create(
            name="feed test", scopes=scopes or ["subscribe:*"], **fields
        )[1]

    return make


def feed(
    token: str | None = None,
    *,
    origin: str | None = None,
    subprotocols: list[str] | None = None,
) -> WebsocketCommunicator:
    """Return a communicator on /ws/v1/events with the given handshake."""
    headers = [(b"host", b"localhost")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return WebsocketCommunicator(
        APP,
        "/ws/v1/events",
        headers=headers,
        subprotocols=[SUBPROTOCOL] if subprotocols is None else subprotocols,
    )


async def opened(token: str, **kw: Any) -> WebsocketCommunicator:
    """Connect with ``token`` and wait for the "authenticated" frame."""
    communicator = feed(token, **kw)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["kind"] == "authenticated", frame
    return communicator


async def live_on_orders(token: str) -> tuple[WebsocketCommunicator, dict]:
    """Open a socket, subscribe "s" to orders from latest and wait until live.

    Returns the socket and its "subscribed" frame.
    """
    communicator = await opened(token)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"]}
    )
    subscribed = await next_kind(communicator, "subscribed")
    await next_kind(communicator, "live")
    return communicator, subscribed


async def next_kind(communicator: WebsocketCommunicator, kind: str) -> dict:
    """Return the next control frame of ``kind``, failing on any event before it."""
    frame = await communicator.receive_json_from(timeout=5)
    assert frame.get("kind") == kind, frame
    return frame


async def events(communicator: WebsocketCommunicator, n: int, timeout: float = 5):
    """Receive ``n`` event frames (control frames other than "live" fail)."""
    got = []
    while len(got) < n:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame.get("kind") == "live":
            continue
        assert "specversion" in frame, frame
        got.append(frame)
    return got


apublish = sync_to_async(publish)


async def publish_n(n: int, type_: str = PLACED, start: int = 0) -> list[str]:
    """Publish ``n`` events keyed k0.. with data {"n": i}; return their ids."""
    ids = []
    for i in range(start, start + n):
        published = await apublish("orders", type_, {"n": i}, key=f"k{i % 7}")
        ids.append(published.event_id)
    return ids
