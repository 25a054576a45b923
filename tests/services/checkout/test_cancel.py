"""order_cancel: allowed while placed or reserved, refused with a reason after."""

from __future__ import annotations

import pytest

from eventbus.testing import capture_events
from services.checkout.actions import (
    order_cancel,
    order_mark_delivered,
    order_mark_dispatched,
    order_mark_rejected,
    order_mark_reserved,
    order_place,
)
from services.checkout.exceptions import OrderInvalid, OrderNotCancellable
from services.checkout.models import Order, OrderStatus

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture
def order(customer) -> Order:
    return order_place(customer=customer, lines=[("MUG", 1)])


@pytest.mark.parametrize("reserved", [False, True])
def test_cancelling_sets_cancelled_and_publishes_order_cancelled(order, reserved):
    """A placed or reserved order is cancelled; order.cancelled is keyed by its id."""
    if reserved:
        order_mark_reserved(order_id=order.id)
    with capture_events() as captured:
        cancelled = order_cancel(order=order, reason="  changed my mind ")
    captured.assert_published("order.cancelled")
    (event,) = captured.events
    assert event.partitionkey == order.id
    assert event.data == {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "reason": "changed my mind",
    }
    assert cancelled.status == OrderStatus.CANCELLED
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.status_reason) == ("cancelled", "changed my mind")


@pytest.mark.parametrize(
    ("move", "message"),
    [
        (order_mark_dispatched, "has been dispatched: the parcel is with the carrier"),
        (order_mark_delivered, "has been delivered; return the goods"),
        (order_mark_rejected, "was rejected (not enough stock)"),
        (None, "is already cancelled"),
    ],
)
def test_cancelling_too_late_is_refused_saying_why_and_publishes_nothing(
    order, move, message
):
    if move is None:
        order_cancel(order=order, reason="first")
    else:
        move(order_id=order.id)
    status = Order.objects.get(pk=order.pk).status
    with capture_events() as captured, pytest.raises(OrderNotCancellable) as raised:
        order_cancel(order=order, reason="too late")
    assert f"Order {order.id} cannot be cancelled: it {message}" in str(raised.value)
    captured.assert_published()
    assert Order.objects.get(pk=order.pk).status == status


def test_the_stored_status_decides_not_the_callers_stale_copy(order):
    """An order dispatched since the caller loaded it is refused."""
    stale = Order.objects.get(pk=order.pk)
    order_mark_dispatched(order_id=order.id)
    with pytest.raises(OrderNotCancellable, match="dispatched"):
        order_cancel(order=stale, reason="oops")


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_cancellation_needs_a_reason(order, reason):
    with capture_events() as captured, pytest.raises(OrderInvalid, match="a reason"):
        order_cancel(order=order, reason=reason)
    captured.assert_published()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
