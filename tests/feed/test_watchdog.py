"""The watchdog's rounds: a scope taken away ends the subscriptions it allowed."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from console.models import TokenScope
from eventbus import register_event_type
from tests.feed.conftest import apublish, events, next_kind, opened, publish_n

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
PAID = "feedtest.paid"


@pytest.fixture
def payments(make_topic) -> str:
    """A 1-partition topic beside "orders", with one event type."""
    make_topic("payments", partitions=1)
    register_event_type(PAID, topic="payments", schema={"type": "object"})
    return "payments"


async def test_losing_the_subscribe_scope_ends_those_subscriptions(
    token, payments, settings
) -> None:
    """Deleting a token's scope, or narrowing its pattern, ends the subscriptions
    on topics it no longer covers within the recheck period: an error frame
    names the subscription, topic and scope; the rest and the socket stay."""
    settings.API = {**settings.API, "FEED_RECHECK_SECONDS": 0.2}
    raw = await sync_to_async(token)("subscribe:orders", "subscribe:pay*")
    communicator = await opened(raw)
    for sub_id, topic in (("o", "orders"), ("p", payments)):
        await communicator.send_json_to(
            {"op": "subscribe", "id": sub_id, "topics": [topic]}
        )
        await next_kind(communicator, "subscribed")
        await next_kind(communicator, "live")

    await sync_to_async(TokenScope.objects.filter(topics="orders").delete)()
    frame = await next_kind(communicator, "error")
    assert (frame["op"], frame["id"]) == ("subscribe", "o")
    assert "no 'subscribe' scope on orders" in frame["message"]
    await publish_n(5)
    paid = await apublish(payments, PAID, {"n": 1}, key="p")
    [got] = await events(communicator, 1)
    assert got["id"] == paid.event_id  # and none of the orders
    assert await communicator.receive_nothing(0.3)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "o", "topics": ["orders"]}
    )
    refused = await next_kind(communicator, "error")  # the scopes as they are now
    assert "no 'subscribe' scope on orders" in refused["message"]

    await sync_to_async(TokenScope.objects.filter(topics="pay*").update)(topics="pay-*")
    frame = await next_kind(communicator, "error")
    assert (frame["op"], frame["id"]) == ("subscribe", "p")
    assert "no 'subscribe' scope on payments" in frame["message"]
    await apublish(payments, PAID, {"n": 2}, key="p")
    assert await communicator.receive_nothing(0.5)
    await communicator.send_json_to({"op": "ping"})
    await next_kind(communicator, "pong")
    await communicator.disconnect()
