"""Fixtures for the retail tools: topics, and a consistent finished shop."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from services.checkout.models import Customer, Order, OrderStatus
from services.contact.models import Notification
from services.inventory.models import Reservation, StockItem
from services.shipping.models import Shipment


@pytest.fixture
def topics(make_topic) -> None:
    """The topic rows the retail services publish to."""
    for name in ("orders", "stock", "shipments"):
        make_topic(name, partitions=4)


@dataclass
class Shop:
    """Ids of the orders of the hand-built state, one per way an order ends."""

    rejected: str = "o-rejected"
    delivered: str = "o-delivered"
    dispatched: str = "o-dispatched"
    released: str = "o-released"
    cancelled_early: str = "o-cancelled-early"


def _notify(order_id: str, kind: str, n: int = 1) -> None:
    Notification.objects.create(
        kind=kind,
        order_id=order_id,
        customer_id="c-0001",
        email="ada@example.com",
        subject="s",
        body="b",
        cause_event_id=f"ev-{order_id}-{kind}-{n}",
        cause_type="t",
    )


@pytest.fixture
def shop(topics) -> Shop:
    """Build, directly in the models, a drained shop where every invariant holds."""
    ids = Shop()
    customer = Customer.objects.create(id="c-0001", email="ada@example.com", name="A")
    statuses = {
        ids.rejected: OrderStatus.REJECTED,
        ids.delivered: OrderStatus.DELIVERED,
        ids.dispatched: OrderStatus.DISPATCHED,
        ids.released: OrderStatus.CANCELLED,
        ids.cancelled_early: OrderStatus.CANCELLED,
    }
    for order_id, status in statuses.items():
        Order.objects.create(
            id=order_id,
            customer=customer,
            status=status,
            total_cents=100,
            placed_at=timezone.now(),
        )
        _notify(order_id, Notification.Kind.ORDER_CONFIRMED)
    _notify(ids.rejected, Notification.Kind.ORDER_REJECTED)
    two = [{"sku": "SKU-A", "qty": 2}]
    res = Reservation.Status
    for order_id, status in (
        (ids.rejected, res.REJECTED),
        (ids.delivered, res.SHIPPED),
        (ids.dispatched, res.SHIPPED),
        (ids.released, res.RELEASED),
    ):
        Reservation.objects.create(
            order_id=order_id, customer_id="c-0001", status=status, lines=two
        )
    shp = Shipment.Status
    for order_id, status in (
        (ids.delivered, shp.DELIVERED),
        (ids.dispatched, shp.DISPATCHED),
        (ids.released, shp.CANCELLED),
    ):
        Shipment.objects.create(
            id=f"shp_{order_id}",
            order_id=order_id,
            customer_id="c-0001",
            status=status,
            lines=two,
        )
    # 10 initial + 3 restocked = 9 available + 4 shipped (two orders of 2).
    StockItem.objects.create(
        sku="SKU-A", initial=10, restocked=3, available=9, shipped=4
    )
    return ids
