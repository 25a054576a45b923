"""stock_ship and stock_release: held reservations move once, others are no-ops."""

from __future__ import annotations

import logging

import pytest

from eventbus.testing import capture_events
from services.inventory.actions import stock_release, stock_reserve, stock_ship
from services.inventory.exceptions import InvalidStock
from services.inventory.models import Reservation
from tests.services.inventory.conftest import levels, lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(stock) -> Reservation:
    stock(A=5, B=2)
    return stock_reserve(order_id="o1", customer_id="c1", lines=lines(A=3, B=1))


def status(order_id: str) -> str:
    return Reservation.objects.get(order_id=order_id).status


def test_shipping_moves_reserved_units_to_shipped(held):
    """A held reservation ships: reserved -> shipped, one level_changed per SKU."""
    with capture_events() as captured:
        stock_ship(order_id="o1")
    assert status("o1") == Reservation.Status.SHIPPED
    assert levels("A") == (2, 0, 3)
    assert levels("B") == (1, 0, 1)
    captured.assert_published("stock.level_changed", "stock.level_changed")
    assert [(e.data["sku"], e.data["change"]) for e in captured.events] == [
        ("A", -3),
        ("B", -1),
    ]
    assert {e.data["reason"] for e in captured.events} == {"shipped"}
    assert captured.events[0].data["shipped"] == 3


def test_shipping_twice_or_an_unknown_order_is_a_no_op(held):
    """A second dispatch and an unknown order change and publish nothing."""
    stock_ship(order_id="o1")
    with capture_events() as captured:
        assert stock_ship(order_id="o1").status == Reservation.Status.SHIPPED
        assert stock_ship(order_id="unknown") is None
    captured.assert_published()
    assert levels("A") == (2, 0, 3)


def test_a_released_reservation_cannot_ship_and_is_logged_as_an_error(held, caplog):
    """Dispatch after release moves nothing and logs an error naming the order."""
    stock_release(order_id="o1", reason="shipment cancelled")
    with capture_events() as captured, caplog.at_level(logging.ERROR):
        stock_ship(order_id="o1")
    captured.assert_published()
    assert status("o1") == Reservation.Status.RELEASED
    assert levels("A") == (5, 0, 0)
    assert any(
        r.levelno == logging.ERROR and "o1" in r.getMessage() for r in caplog.records
    )


def test_releasing_returns_units_to_available(held):
    """Release: reserved -> available, stock.released then level_changed per SKU."""
    with capture_events() as captured:
        stock_release(order_id="o1", reason="customer cancelled")
    assert status("o1") == Reservation.Status.RELEASED
    assert levels("A") == (5, 0, 0)
    assert levels("B") == (2, 0, 0)
    captured.assert_published(
        "stock.released", "stock.level_changed", "stock.level_changed"
    )
    released = captured.events[0]
    assert released.partitionkey == "o1"
    assert released.data == {
        "order_id": "o1",
        "lines": lines(A=3, B=1),
        "reason": "customer cancelled",
    }
    assert [(e.data["change"], e.data["reason"]) for e in captured.events[1:]] == [
        (3, "released"),
        (1, "released"),
    ]


def test_release_of_anything_but_a_held_reservation_is_a_no_op(held):
    """Released twice, shipped, rejected or unknown: nothing moves or is published."""
    stock_reserve(order_id="o2", customer_id="c1", lines=lines(A=99))  # rejected
    stock_reserve(order_id="o3", customer_id="c1", lines=lines(A=1))
    stock_ship(order_id="o3")
    stock_release(order_id="o1", reason="first")
    before = levels("A"), levels("B")
    with capture_events() as captured:
        for order_id in ("o1", "o2", "o3", "unknown"):
            stock_release(order_id=order_id, reason="again")
    captured.assert_published()
    assert (levels("A"), levels("B")) == before
    assert status("o2") == Reservation.Status.REJECTED
    assert status("o3") == Reservation.Status.SHIPPED


def test_release_needs_a_reason(held):
    """An empty reason raises InvalidStock and leaves the reservation held."""
    with pytest.raises(InvalidStock, match="reason is ''"):
        stock_release(order_id="o1", reason="")
    assert status("o1") == Reservation.Status.HELD
