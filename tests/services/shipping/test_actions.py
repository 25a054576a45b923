"""Shipping's actions: writes, exact events, scheduling, and the cancel race."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventbus.testing import capture_events
from services.shipping import tasks
from services.shipping.actions import (
    CARRIERS,
    shipment_cancel,
    shipment_create,
    shipment_deliver,
    shipment_dispatch,
)
from services.shipping.exceptions import InvalidShipment, ShipmentNotFound
from services.shipping.models import Cancellation, Shipment

pytestmark = pytest.mark.usefixtures("topics")

LINES = [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}]


def create(order_id: str = "o-1") -> Shipment:
    return shipment_create(order_id=order_id, customer_id="c-1", lines=LINES)


def test_create_writes_the_shipment_and_publishes_shipment_created():
    """A reservation becomes a created shipment and one shipment.created."""
    with capture_events() as captured:
        shipment = create()
    captured.assert_published("shipment.created")
    row = Shipment.objects.get()
    assert (row.id, row.order_id, row.customer_id) == (shipment.id, "o-1", "c-1")
    assert row.status == "created" and row.lines == LINES
    (event,) = captured.events
    assert event.data == {
        "shipment_id": shipment.id,
        "order_id": "o-1",
        "customer_id": "c-1",
        "lines": LINES,
    }
    assert event.partitionkey == "o-1"


def test_create_schedules_dispatch_only_after_commit(
    django_capture_on_commit_callbacks, queued, settings
):
    """Dispatch is queued with the configured countdown once the shipment commits."""
    settings.SHIPPING_DISPATCH_SECONDS = 7.5
    with django_capture_on_commit_callbacks() as callbacks:
        shipment = create()
        assert queued() == []
    assert queued() == []  # not run: a rolled-back create schedules nothing
    before = datetime.now(UTC)
    for callback in callbacks:
        callback()
    (task,) = queued()
    assert task.name == "shipping.dispatch" and task.args == [shipment.id]
    assert task.eta is not None
    assert before + timedelta(seconds=7) < task.eta < before + timedelta(seconds=9)


def test_dispatch_defaults_to_two_seconds_after_commit(
    django_capture_on_commit_callbacks, queued
):
    """Without SHIPPING_DISPATCH_SECONDS the dispatch waits two seconds."""
    before = datetime.now(UTC)
    with django_capture_on_commit_callbacks(execute=True):
        create()
    (task,) = queued()
    assert before + timedelta(seconds=1.5) < task.eta < before + timedelta(seconds=3)


def test_a_repeated_create_for_the_order_is_a_no_op(
    django_capture_on_commit_callbacks, queued
):
    """A re-delivered stock.reserved neither adds a shipment nor publishes."""
    first = create()
    with capture_events() as captured, django_capture_on_commit_callbacks(execute=True):
        again = shipment_create(order_id="o-1", customer_id="c-1", lines=LINES[:1])
    captured.assert_published()
    assert again.id == first.id and again.lines == LINES
    assert Shipment.objects.count() == 1
    assert queued() == []


def test_cancel_before_reservation_is_recorded_and_publishes_nothing():
    """An order cancelled before its stock was reserved leaves a Cancellation."""
    with capture_events() as captured:
        result = shipment_cancel(order_id="o-1", customer_id="c-1", reason="changed")
    captured.assert_published()
    assert isinstance(result, Cancellation)
    row = Cancellation.objects.get()
    assert (row.order_id, row.reason) == ("o-1", "changed")
    assert not Shipment.objects.exists()


def test_reservation_after_cancel_creates_the_shipment_cancelled(
    django_capture_on_commit_callbacks, queued
):
    """The race: the late reservation yields a cancelled shipment and its event."""
    shipment_cancel(order_id="o-1", customer_id="c-1", reason="changed my mind")
    with capture_events() as captured, django_capture_on_commit_callbacks(execute=True):
        shipment = create()
    captured.assert_published("shipment.cancelled")
    assert captured.events[0].data == {
        "shipment_id": shipment.id,
        "order_id": "o-1",
        "customer_id": "c-1",
        "reason": "changed my mind",
    }
    row = Shipment.objects.get()
    assert row.status == "cancelled" and row.cancel_reason == "changed my mind"
    assert row.cancelled_at is not None
    assert queued() == []  # a cancelled shipment is never dispatched


def test_a_second_cancel_before_reservation_keeps_the_first_reason():
    """A re-delivered order.cancelled does not add or change the Cancellation."""
    shipment_cancel(order_id="o-1", customer_id="c-1", reason="first")
    shipment_cancel(order_id="o-1", customer_id="c-1", reason="second")
    assert list(Cancellation.objects.values_list("reason", flat=True)) == ["first"]


def test_cancel_of_a_created_shipment_cancels_it_once():
    """Created -> cancelled with shipment.cancelled; a repeat publishes nothing."""
    shipment = create()
    with capture_events() as captured:
        shipment_cancel(order_id="o-1", customer_id="c-1", reason="too slow")
        shipment_cancel(order_id="o-1", customer_id="c-1", reason="too slow")
    captured.assert_published("shipment.cancelled")
    assert captured.events[0].data["shipment_id"] == shipment.id
    row = Shipment.objects.get()
    assert row.status == "cancelled" and row.cancel_reason == "too slow"
    assert not Cancellation.objects.exists()


@pytest.mark.parametrize("steps", [1, 2], ids=["dispatched", "delivered"])
def test_cancel_after_dispatch_changes_nothing(steps, caplog):
    """Once the parcel left, a cancel is too late: no write, no event."""
    shipment = create()
    shipment_dispatch(shipment_id=shipment.id)
    if steps == 2:
        shipment_deliver(shipment_id=shipment.id)
    before = Shipment.objects.get()
    with capture_events() as captured:
        shipment_cancel(order_id="o-1", customer_id="c-1", reason="late")
    captured.assert_published()
    after = Shipment.objects.get()
    assert (after.status, after.cancel_reason) == (before.status, "")
    assert not Cancellation.objects.exists()
    assert "nothing to cancel" in caplog.text


def test_dispatch_hands_the_parcel_to_a_carrier_and_schedules_delivery(
    django_capture_on_commit_callbacks, queued, settings
):
    """Created -> dispatched with carrier and tracking; delivery is queued."""
    settings.SHIPPING_DELIVERY_SECONDS = 4.0
    shipment = create()
    before = datetime.now(UTC)
    with capture_events() as captured, django_capture_on_commit_callbacks(execute=True):
        shipment_dispatch(shipment_id=shipment.id)
    captured.assert_published("shipment.dispatched")
    row = Shipment.objects.get()
    assert row.status == "dispatched" and row.dispatched_at is not None
    assert row.carrier in CARRIERS and len(row.tracking_number) >= 10
    assert captured.events[0].data == {
        "shipment_id": shipment.id,
        "order_id": "o-1",
        "customer_id": "c-1",
        "carrier": row.carrier,
        "tracking_number": row.tracking_number,
    }
    (task,) = queued()
    assert task.name == "shipping.deliver" and task.args == [shipment.id]
    assert before + timedelta(seconds=3.5) < task.eta < before + timedelta(seconds=5)


@pytest.mark.parametrize("status", ["cancelled", "dispatched", "delivered"])
def test_dispatch_of_a_shipment_not_created_is_a_no_op(
    status, django_capture_on_commit_callbacks, queued
):
    """Only a created shipment is dispatched; repeats and cancels stay put."""
    shipment = create()
    Shipment.objects.filter(pk=shipment.pk).update(status=status, carrier="UPS")
    with capture_events() as captured, django_capture_on_commit_callbacks(execute=True):
        result = shipment_dispatch(shipment_id=shipment.id)
    captured.assert_published()
    assert result.status == status and Shipment.objects.get().carrier == "UPS"
    assert queued() == []


def test_deliver_marks_a_dispatched_shipment_delivered():
    """Dispatched -> delivered with shipment.delivered; a repeat is a no-op."""
    shipment = create()
    shipment_dispatch(shipment_id=shipment.id)
    with capture_events() as captured:
        shipment_deliver(shipment_id=shipment.id)
        shipment_deliver(shipment_id=shipment.id)
    captured.assert_published("shipment.delivered")
    assert captured.events[0].data == {
        "shipment_id": shipment.id,
        "order_id": "o-1",
        "customer_id": "c-1",
    }
    row = Shipment.objects.get()
    assert row.status == "delivered" and row.delivered_at is not None


@pytest.mark.parametrize("status", ["created", "cancelled"])
def test_deliver_before_dispatch_is_a_no_op(status):
    """A shipment that never left cannot be delivered."""
    shipment = create()
    Shipment.objects.filter(pk=shipment.pk).update(status=status)
    with capture_events() as captured:
        assert shipment_deliver(shipment_id=shipment.id).status == status
    captured.assert_published()
    assert Shipment.objects.get().delivered_at is None


def test_tasks_run_the_actions():
    """shipping.dispatch then shipping.deliver move a shipment to delivered."""
    shipment = create()
    with capture_events() as captured:
        assert tasks.dispatch(shipment.id) == "dispatched"
        assert tasks.deliver(shipment.id) == "delivered"
    captured.assert_published("shipment.dispatched", "shipment.delivered")
    assert tasks.dispatch.name == "shipping.dispatch"
    assert tasks.deliver.name == "shipping.deliver"


@pytest.mark.parametrize("action", [shipment_dispatch, shipment_deliver])
def test_an_unknown_shipment_id_says_where_shipments_come_from(action):
    """A task for a missing shipment fails with a message naming the id."""
    with pytest.raises(ShipmentNotFound, match="No shipment has id 'shp_nope'"):
        action(shipment_id="shp_nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order_id": ""}, "order_id must be a non-empty string"),
        ({"customer_id": None}, "customer_id must be a non-empty string"),
        ({"lines": []}, "has no lines to ship"),
        ({"lines": [{"sku": "A", "qty": 0}]}, "qty' of at least 1"),
        ({"lines": [{"sku": "A", "qty": "2"}]}, "qty' of at least 1"),
        ({"lines": [{"qty": 1}]}, "non-empty 'sku' string"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(kwargs, message):
    """Malformed reservations raise InvalidShipment and leave no trace."""
    args = {"order_id": "o-1", "customer_id": "c-1", "lines": LINES, **kwargs}
    with capture_events() as captured, pytest.raises(InvalidShipment, match=message):
        shipment_create(**args)
    captured.assert_published()
    assert not Shipment.objects.exists()


def test_cancel_with_a_non_string_reason_is_refused():
    """A cancel needs a reason string; nothing is recorded without one."""
    with pytest.raises(InvalidShipment, match="reason"):
        shipment_cancel(order_id="o-1", customer_id="c-1", reason=None)  # type: ignore[arg-type]
    assert not Cancellation.objects.exists()
