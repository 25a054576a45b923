"""The checkout group in the real consumer runtime, in a thread of this process."""

from __future__ import annotations

import pytest

from eventbus import publish
from eventbus.lag import group_lag
from services.checkout.actions import order_place
from services.checkout.handlers import GROUP
from services.checkout.models import Order
from tests.eventbus.consumer_helpers import running, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("catalogue"),
]


def status(order_id: str) -> str:
    return Order.objects.get(pk=order_id).status


def test_a_published_reservation_marks_the_order_reserved(customer):
    order = order_place(customer=customer, lines=[("MUG", 1)])
    publish(
        "stock",
        "stock.reserved",
        {
            "order_id": order.id,
            "customer_id": customer.id,
            "lines": [{"sku": "MUG", "qty": 1}],
        },
        key=order.id,
    )
    with running(GROUP):
        wait_until(lambda: status(order.id) == "reserved", what="order reserved")


def test_a_dispatch_seen_before_the_reservation_still_ends_dispatched(customer):
    """The two topics are read independently; arrival order does not matter."""
    order = order_place(customer=customer, lines=[("TEE", 1)])
    ids = {"order_id": order.id, "customer_id": customer.id}
    publish(
        "shipments",
        "shipment.dispatched",
        {**ids, "shipment_id": "s-1", "carrier": "DHL", "tracking_number": "T1"},
        key=order.id,
    )
    with running(GROUP):
        wait_until(lambda: status(order.id) == "dispatched", what="dispatched")
        publish(
            "stock",
            "stock.reserved",
            {**ids, "lines": [{"sku": "TEE", "qty": 1}]},
            key=order.id,
        )
        publish(
            "shipments",
            "shipment.delivered",
            {**ids, "shipment_id": "s-1"},
            key=order.id,
        )
        wait_until(lambda: status(order.id) == "delivered", what="delivered")
        wait_until(lambda: group_lag("stock", GROUP).backlog == 0, what="stock read")
    assert status(order.id) == "delivered"
    assert Order.objects.get(pk=order.id).tracking_number == "T1"
