"""manage.py retail seed: catalogue, customers and stock, idempotently."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from services.checkout.models import Customer, Product
from services.inventory.models import StockItem

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Product.objects.count(), Customer.objects.count(), StockItem.objects.count()


def _seed(*args: str) -> None:
    call_command("retail", "seed", "--products", "6", "--customers", "5", *args)


def test_seed_creates_catalogue_customers_and_stock(bus) -> None:
    """Seeding creates every product with its stock, and every customer."""
    _seed("--stock", "7")
    assert _counts() == (6, 5, 6)
    assert sorted(StockItem.objects.values_list("sku", flat=True)) == [
        f"SKU-{n:04d}" for n in range(1, 7)
    ]
    assert set(StockItem.objects.values_list("available", flat=True)) == {7}


def test_seed_twice_duplicates_nothing(bus) -> None:
    """Re-running the seed (even with another --seed) leaves existing rows alone."""
    _seed("--seed", "1")
    prices = dict(Product.objects.values_list("sku", "price_cents"))
    item = StockItem.objects.get(sku="SKU-0001")
    item.available, item.reserved = item.available - 3, 3  # sold meanwhile
    item.save()
    _seed("--seed", "2")
    assert _counts() == (6, 5, 6)
    assert dict(Product.objects.values_list("sku", "price_cents")) == prices
    assert StockItem.objects.get(sku="SKU-0001").reserved == 3


def test_seed_grows_to_larger_numbers(bus) -> None:
    """A larger re-run adds only the missing products and customers."""
    _seed()
    call_command("retail", "seed", "--products", "8", "--customers", "7")
    assert _counts() == (8, 7, 8)


def test_seed_refuses_zero_stock(bus) -> None:
    """Zero units per SKU is refused before anything is written."""
    with pytest.raises(CommandError, match="at least 1 unit"):
        _seed("--stock", "0")
    assert _counts() == (0, 0, 0)
