"""Status handlers: stock and shipping events move orders forward, never back."""

from __future__ import annotations

import pytest

from eventbus.testing import capture_events
from services.checkout import handlers
from services.checkout.actions import order_cancel, order_place
from services.checkout.exceptions import OrderNotFound
from services.checkout.models import Order

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture
def order(customer) -> Order:
    return order_place(customer=customer, lines=[("MUG", 2)])


@pytest.fixture
def deliver(event, order):
    """Hand one event of ``order`` to checkout's handler for its type."""
    ids = {"order_id": order.id, "customer_id": order.customer_id}
    shipment = {**ids, "shipment_id": "s-1"}
    build = {
        "stock.reserved": lambda: event(
            "stock.reserved", **ids, lines=[{"sku": "MUG", "qty": 2}]
        ),
        "stock.rejected": lambda: event(
            "stock.rejected",
            **ids,
            reason="not enough MUG",
            short=[{"sku": "MUG", "requested": 2, "available": 1}],
        ),
        "shipment.dispatched": lambda: event(
            "shipment.dispatched", **shipment, carrier="DHL", tracking_number="T1"
        ),
        "shipment.delivered": lambda: event("shipment.delivered", **shipment),
        "shipment.cancelled": lambda: event(
            "shipment.cancelled", **ids, reason="cancelled by customer"
        ),
    }
    handler = {
        "stock.reserved": handlers.stock_reserved,
        "stock.rejected": handlers.stock_rejected,
        "shipment.dispatched": handlers.shipment_dispatched,
        "shipment.delivered": handlers.shipment_delivered,
        "shipment.cancelled": handlers.shipment_cancelled,
    }

    def run(*types: str) -> Order:
        for type_name in types:
            handler[type_name](build[type_name]())
        return Order.objects.get(pk=order.pk)

    return run


@pytest.mark.parametrize(
    ("events", "status"),
    [
        (["stock.reserved"], "reserved"),
        (["stock.rejected"], "rejected"),
        (["stock.reserved", "shipment.dispatched"], "dispatched"),
        (["stock.reserved", "shipment.dispatched", "shipment.delivered"], "delivered"),
        (["stock.reserved", "shipment.cancelled"], "cancelled"),
    ],
)
def test_the_normal_story_moves_the_order_through_its_statuses(deliver, events, status):
    assert deliver(*events).status == status


@pytest.mark.parametrize(
    ("events", "status"),
    [
        # Topics are not ordered with each other: shipping may be seen first.
        (["shipment.dispatched", "stock.reserved"], "dispatched"),
        (["shipment.delivered", "shipment.dispatched"], "delivered"),
        (["shipment.delivered", "stock.reserved"], "delivered"),
        (["shipment.cancelled", "stock.reserved"], "cancelled"),
        (["stock.rejected", "stock.reserved"], "rejected"),
        (["shipment.dispatched", "shipment.cancelled"], "dispatched"),
        (["shipment.delivered", "shipment.cancelled"], "delivered"),
    ],
)
def test_late_events_never_move_an_order_backwards(deliver, events, status):
    assert deliver(*events).status == status


def test_redelivered_events_change_nothing(deliver):
    first = deliver("stock.reserved", "shipment.dispatched")
    again = deliver("stock.reserved", "shipment.dispatched")
    assert again.status == "dispatched"
    assert again.updated_at == first.updated_at


def test_dispatch_records_carrier_and_tracking_number(deliver):
    order = deliver("stock.reserved", "shipment.dispatched")
    assert (order.carrier, order.tracking_number) == ("DHL", "T1")


def test_rejection_keeps_inventorys_reason(deliver):
    assert deliver("stock.rejected").status_reason == "not enough MUG"


def test_a_late_reservation_leaves_a_cancelled_order_cancelled(deliver, order):
    """The customer cancelled before inventory answered; the answer changes nothing."""
    order_cancel(order=order, reason="changed my mind")
    cancelled = deliver("stock.reserved")
    assert (cancelled.status, cancelled.status_reason) == (
        "cancelled",
        "changed my mind",
    )
    assert deliver("stock.rejected").status == "cancelled"
    # Shipping's confirmation keeps the customer's own reason.
    assert deliver("shipment.cancelled").status_reason == "changed my mind"


def test_a_dispatch_after_a_cancellation_is_recorded_the_carrier_won(deliver, order):
    """Shipping dispatched before it saw order.cancelled: the parcel has left."""
    deliver("stock.reserved")
    order_cancel(order=order, reason="changed my mind")
    dispatched = deliver("shipment.dispatched")
    assert dispatched.status == "dispatched"
    assert "too late" in dispatched.status_reason
    assert deliver("shipment.delivered").status == "delivered"


def test_status_updates_publish_nothing(deliver):
    with capture_events() as captured:
        deliver("stock.reserved", "shipment.dispatched", "shipment.delivered")
    captured.assert_published()


def test_an_event_for_an_unknown_order_raises_so_it_is_retried_then_dead_lettered(
    event,
):
    with pytest.raises(OrderNotFound, match="no order 'o-missing'"):
        handlers.stock_reserved(
            event(
                "stock.reserved",
                order_id="o-missing",
                customer_id="c-0001",
                lines=[{"sku": "MUG", "qty": 1}],
            )
        )
