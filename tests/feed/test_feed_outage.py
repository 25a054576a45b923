"""The feed while Redis is away: subscriptions wait and go on, never end."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from eventbus.client import reset_clients
from tests.feed.conftest import events, next_kind, opened, publish_n

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_replay_that_loses_redis_says_so_and_resumes(
    token, redis_server, bus_on
) -> None:
    """History read while Redis is down: one transient error frame (no "op",
    so clients keep the subscription), then the replay from where it was."""
    own = redis_server("--appendonly", "yes", "--appendfsync", "always")
    bus_on(own.url)
    raw = await sync_to_async(token)()
    ids = await publish_n(5)
    communicator = await opened(raw)
    await sync_to_async(own.kill)()
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "earliest"}
    )
    await next_kind(communicator, "subscribed")
    error = await next_kind(communicator, "error")
    assert "Reading topic 'orders' failed" in error["message"]
    assert "op" not in error and "code" not in error and error["id"] == "s"
    await sync_to_async(own.start)()
    reset_clients()
    got = await events(communicator, 5, timeout=10)
    assert sorted(e["id"] for e in got) == sorted(ids)
    await next_kind(communicator, "live")
    await communicator.disconnect()
