"""Shipping's handlers: direct calls, and the real consumer runtime in-thread."""

from __future__ import annotations

import pytest

from eventbus import Event, publish
from eventbus.envelope import new_event_id, now_rfc3339
from eventbus.testing import capture_events
from services.shipping.handlers import on_order_cancelled, on_stock_reserved
from services.shipping.models import Cancellation, Shipment
from tests.eventbus.consumer_helpers import running, wait_until

LINES = [{"sku": "SKU-1", "qty": 3}]


def event(type_: str, **data: object) -> Event:
    return Event(
        id=new_event_id(), source="/test", type=type_, time=now_rfc3339(), data=data
    )


def reserved(order_id: str) -> Event:
    return event("stock.reserved", order_id=order_id, customer_id="c-1", lines=LINES)


def cancelled(order_id: str) -> Event:
    return event("order.cancelled", order_id=order_id, customer_id="c-1", reason="oops")


@pytest.mark.usefixtures("topics")
def test_stock_reserved_creates_the_shipment():
    """stock.reserved becomes a created shipment with the reserved lines."""
    with capture_events() as captured:
        on_stock_reserved(reserved("o-1"))
    captured.assert_published("shipment.created")
    row = Shipment.objects.get()
    assert (row.order_id, row.customer_id, row.lines) == ("o-1", "c-1", LINES)


@pytest.mark.usefixtures("topics")
def test_order_cancelled_then_stock_reserved_ends_cancelled():
    """Arrival order does not matter: cancel first still cancels the shipment."""
    with capture_events() as captured:
        on_order_cancelled(cancelled("o-1"))
        on_stock_reserved(reserved("o-1"))
    captured.assert_published("shipment.cancelled")
    assert Shipment.objects.get().status == "cancelled"
    assert Cancellation.objects.filter(order_id="o-1").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("topics", "input_types")
def test_the_shipping_group_consumes_reservations_and_cancels():
    """The runtime runs both handlers: one shipment created, one cancelled."""
    publish("orders", "order.cancelled", cancelled("o-2").data, key="o-2")
    publish("stock", "stock.reserved", reserved("o-1").data, key="o-1")
    publish("stock", "stock.reserved", reserved("o-2").data, key="o-2")
    with running("shipping"):
        wait_until(
            lambda: Shipment.objects.count() == 2, what="two shipments", timeout=20
        )
    statuses = dict(Shipment.objects.values_list("order_id", "status"))
    assert statuses == {"o-1": "created", "o-2": "cancelled"}
