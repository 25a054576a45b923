"""stock_reserve: all lines or none, the rejection's details, repeats."""

from __future__ import annotations

import pytest

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.inventory.actions import stock_reserve, stock_restock
from services.inventory.exceptions import InvalidStock
from services.inventory.models import Reservation
from tests.services.inventory.conftest import levels, lines

pytestmark = pytest.mark.django_db


def test_a_reservation_holds_every_line_and_publishes_reserved_then_levels(stock):
    """Enough stock: available -> reserved; stock.reserved, then a level per SKU."""
    stock(A=5, B=2)
    with capture_events() as captured:
        reservation = stock_reserve(
            order_id="o1", customer_id="c1", lines=lines(A=3, B=2)
        )
    assert reservation.status == Reservation.Status.HELD
    assert reservation.lines == lines(A=3, B=2)
    assert levels("A") == (2, 3, 0)
    assert levels("B") == (0, 2, 0)
    captured.assert_published(
        "stock.reserved", "stock.level_changed", "stock.level_changed"
    )
    reserved, level_a, level_b = captured.events
    assert reserved.data == {
        "order_id": "o1",
        "customer_id": "c1",
        "lines": lines(A=3, B=2),
    }
    assert reserved.partitionkey == "o1"
    assert level_a.partitionkey == "A"
    assert level_a.data == {
        "sku": "A",
        "available": 2,
        "reserved": 3,
        "shipped": 0,
        "change": -3,
        "reason": "reserved",
    }
    assert (level_b.data["sku"], level_b.data["available"]) == ("B", 0)


def test_one_short_line_rejects_the_whole_order_and_changes_no_stock(stock):
    """A short SKU rejects every line: no stock moves, stock.rejected only."""
    stock(A=5, B=1)
    with capture_events() as captured:
        reservation = stock_reserve(
            order_id="o1", customer_id="c1", lines=lines(A=2, B=3)
        )
    assert reservation.status == Reservation.Status.REJECTED
    assert levels("A") == (5, 0, 0)
    assert levels("B") == (1, 0, 0)
    captured.assert_published("stock.rejected")
    (rejected,) = captured.events
    assert rejected.partitionkey == "o1"
    assert rejected.data == {
        "order_id": "o1",
        "customer_id": "c1",
        "reason": "insufficient stock",
        "short": [{"sku": "B", "requested": 3, "available": 1}],
    }


def test_a_rejection_names_every_short_sku_and_unknown_skus_as_zero(stock):
    """Every short SKU is named in line order; an unknown SKU has 0 available."""
    stock(A=1, B=1)
    with capture_events() as captured:
        stock_reserve(
            order_id="o1",
            customer_id="c1",
            lines=lines(A=2, NOPE=1, B=1),
        )
    captured.assert_published("stock.rejected")
    assert captured.events[0].data["short"] == [
        {"sku": "A", "requested": 2, "available": 1},
        {"sku": "NOPE", "requested": 1, "available": 0},
    ]
    assert levels("B") == (1, 0, 0)


def test_repeated_lines_of_one_sku_are_added_up(stock):
    """Two lines of one SKU need their sum: 2 + 2 of 3 is short by one."""
    stock(A=3)
    with capture_events() as captured:
        stock_reserve(
            order_id="o1",
            customer_id="c1",
            lines=[{"sku": "A", "qty": 2}, {"sku": "A", "qty": 2}],
        )
    assert captured.events[0].data["short"] == [
        {"sku": "A", "requested": 4, "available": 3}
    ]


@pytest.mark.parametrize("first_ok", [True, False])
def test_a_second_call_for_an_order_returns_its_outcome_and_publishes_nothing(
    stock, first_ok
):
    """Repeats are no-ops, even when restocking would now change the answer."""
    stock(A=1)
    first = stock_reserve(
        order_id="o1", customer_id="c1", lines=lines(A=1 if first_ok else 2)
    )
    stock_restock(sku="A", qty=10)
    before = levels("A")
    with capture_events() as captured:
        again = stock_reserve(order_id="o1", customer_id="c1", lines=lines(A=2))
    assert again.pk == first.pk
    assert again.status == first.status
    assert levels("A") == before
    captured.assert_published()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lines": []}, "no lines"),
        ({"lines": "A"}, "must be a list"),
        ({"lines": [{"sku": "A", "qty": 0}]}, "line 1 qty is 0"),
        ({"lines": [{"sku": "A", "qty": 1.5}]}, "line 1 qty is 1.5"),
        ({"lines": [{"sku": "A", "qty": True}]}, "line 1 qty is True"),
        ({"lines": [{"sku": "", "qty": 1}]}, "line 1 sku is ''"),
        ({"lines": ["A"]}, "Line 1 is 'A'"),
        ({"order_id": ""}, "order_id is ''"),
        ({"customer_id": None}, "customer_id is None"),
    ],
)
def test_bad_input_raises_invalid_stock_and_writes_nothing(stock, kwargs, message):
    """Invalid orders say what was wrong; no reservation, no event."""
    stock(A=5)
    call = {"order_id": "o1", "customer_id": "c1", "lines": lines(A=1), **kwargs}
    outbox = OutboxEvent.objects.count()
    with pytest.raises(InvalidStock, match=message):
        stock_reserve(**call)
    assert not Reservation.objects.exists()
    assert levels("A") == (5, 0, 0)
    assert OutboxEvent.objects.count() == outbox
