"""stock_restock, stock_restock_low, stock_create and the stock invariant."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.inventory.actions import (
    stock_create,
    stock_reserve,
    stock_restock,
    stock_restock_low,
)
from services.inventory.exceptions import InvalidStock
from services.inventory.models import StockItem
from services.inventory.tasks import restock_low
from tests.services.inventory.conftest import levels, lines

pytestmark = pytest.mark.django_db


def test_restock_adds_available_units_and_counts_them(stock):
    """Restock adds to available and restocked and publishes the new level."""
    stock(A=2)
    with capture_events() as captured:
        stock_restock(sku="A", qty=5)
    item = StockItem.objects.get(sku="A")
    assert (item.available, item.initial, item.restocked) == (7, 2, 5)
    captured.assert_published("stock.level_changed")
    assert captured.events[0].partitionkey == "A"
    assert captured.events[0].data == {
        "sku": "A",
        "available": 7,
        "reserved": 0,
        "shipped": 0,
        "change": 5,
        "reason": "restocked",
    }


def test_restock_creates_a_missing_sku(topics):
    """An unknown SKU is created with the restocked units and no initial stock."""
    stock_restock(sku="NEW", qty=4)
    item = StockItem.objects.get(sku="NEW")
    assert (item.available, item.initial, item.restocked) == (4, 0, 4)


@pytest.mark.parametrize("qty", [0, -1, 2.0, "3", None, True])
def test_restock_quantity_must_be_a_positive_int(topics, qty):
    """Zero, negatives, floats, strings, bools raise InvalidStock; nothing written."""
    with pytest.raises(InvalidStock, match="qty is"):
        stock_restock(sku="A", qty=qty)
    assert not StockItem.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_restock_low_tops_up_only_skus_below_the_threshold(stock):
    """SKUs under ``below`` go up to ``to``; the others are left alone."""
    stock(A=1, B=5, C=9)
    stock_reserve(order_id="o1", customer_id="c1", lines=lines(B=2))  # B: 3 left
    with capture_events() as captured:
        assert stock_restock_low(below=4, to=10) == 2
    assert levels("A") == (10, 0, 0)
    assert levels("B") == (10, 2, 0)
    assert levels("C") == (9, 0, 0)
    captured.assert_published("stock.level_changed", "stock.level_changed")
    assert sorted((e.data["sku"], e.data["change"]) for e in captured.events) == [
        ("A", 9),
        ("B", 7),
    ]


def test_the_restock_low_task_calls_the_action(stock):
    """The Celery task restocks low SKUs (run eagerly, in this process)."""
    stock(A=1)
    assert restock_low.apply(kwargs={"below": 2, "to": 6}).get() == 1
    assert levels("A") == (6, 0, 0)


@pytest.mark.parametrize(
    ("below", "to", "message"),
    [(0, 5, "below is 0"), (5, 0, "to is 0"), (10, 5, "greater than or equal")],
)
def test_restock_low_rejects_bad_bounds(topics, below, to, message):
    """Thresholds must be positive and ``to`` at least ``below``."""
    with pytest.raises(InvalidStock, match=message):
        stock_restock_low(below=below, to=to)


def test_create_seeds_initial_stock_once(topics):
    """A new SKU starts with its initial stock; creating it again is an error."""
    with capture_events() as captured:
        stock_create(sku="A", initial=3)
    assert StockItem.objects.get(sku="A").initial == 3
    captured.assert_published("stock.level_changed")
    with pytest.raises(InvalidStock, match="already exists"):
        stock_create(sku="A", initial=3)


def test_the_database_refuses_counts_that_break_the_invariant(stock):
    """Units are conserved: available + reserved + shipped = initial + restocked."""
    stock(A=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(sku="A").update(available=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.create(sku="B", available=1)
