"""Inventory's handlers, called directly with the events they subscribe to."""

from __future__ import annotations

from typing import Any

import pytest

from eventbus.consumer.subscriptions import route, subscriptions
from eventbus.envelope import Event, new_event_id, now_rfc3339
from eventbus.testing import capture_events
from services.inventory.handlers import release_order, reserve_order, ship_order
from services.inventory.models import Reservation
from tests.services.inventory.conftest import levels

pytestmark = pytest.mark.django_db


def event(type: str, **data: Any) -> Event:
    return Event(
        id=new_event_id(), source="/test", type=type, time=now_rfc3339(), data=data
    )


def order_placed(order_id: str = "o1", **qty: int) -> Event:
    return event(
        "order.placed",
        order_id=order_id,
        customer_id="c1",
        customer_email="c1@example.com",
        lines=[
            {"sku": sku, "qty": n, "unit_price_cents": 250} for sku, n in qty.items()
        ],
        total_cents=250 * sum(qty.values()),
        currency="EUR",
        placed_at="2025-01-01T12:00:00Z",
    )


def test_order_placed_reserves_the_lines_without_prices(stock):
    """order.placed reserves its SKUs and quantities; prices stay out of stock."""
    stock(A=5)
    with capture_events() as captured:
        reserve_order(order_placed(A=2))
    captured.assert_published("stock.reserved", "stock.level_changed")
    assert captured.events[0].data["lines"] == [{"sku": "A", "qty": 2}]
    assert levels("A") == (3, 2, 0)


def test_shipment_dispatched_ships_and_shipment_cancelled_releases(stock):
    """Dispatch moves o1's units to shipped; a cancelled shipment frees o2's."""
    stock(A=5)
    reserve_order(order_placed("o1", A=2))
    reserve_order(order_placed("o2", A=1))
    ship_order(
        event(
            "shipment.dispatched",
            shipment_id="s1",
            order_id="o1",
            customer_id="c1",
            carrier="dhl",
            tracking_number="T1",
        )
    )
    with capture_events() as captured:
        release_order(
            event(
                "shipment.cancelled",
                order_id="o2",
                customer_id="c1",
                reason="order cancelled",
            )
        )
    captured.assert_published("stock.released", "stock.level_changed")
    assert captured.events[0].data["reason"] == "order cancelled"
    assert levels("A") == (3, 0, 2)
    statuses = dict(Reservation.objects.values_list("order_id", "status"))
    assert statuses == {"o1": "shipped", "o2": "released"}


def test_the_inventory_group_subscribes_to_exactly_its_three_inputs():
    """order.cancelled is not consumed: stock is released on shipment.cancelled only."""
    subs = subscriptions("inventory")
    taken = {(sub.topic, sub.handler.__name__, sub.idempotent) for sub in subs}
    assert taken == {
        ("orders", "reserve_order", True),
        ("shipments", "ship_order", True),
        ("shipments", "release_order", True),
    }
    orders = [s for s in subs if s.topic == "orders"]
    assert route(orders, "order.cancelled") is None
    shipments = [s for s in subs if s.topic == "shipments"]
    assert route(shipments, "shipment.created") is None
    assert route(shipments, "shipment.delivered") is None
