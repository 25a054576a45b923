"""Fixtures for the inventory tests: the topics it touches, stock to sell."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.inventory.actions import stock_create
from services.inventory.models import StockItem


@pytest.fixture
def topics(make_topic) -> None:
    """The stock topic inventory owns and the topics it consumes."""
    make_topic("stock", partitions=8)
    make_topic("orders", partitions=8)
    make_topic("shipments", partitions=8)


@pytest.fixture
def stock(topics) -> Callable[..., None]:
    """Create SKUs with initial stock: ``stock(A=5, B=1)``."""

    def create(**levels: int) -> None:
        for sku, qty in levels.items():
            stock_create(sku=sku, initial=qty)

    return create


def levels(sku: str) -> tuple[int, int, int]:
    """Return (available, reserved, shipped) of a SKU."""
    item = StockItem.objects.get(sku=sku)
    return item.available, item.reserved, item.shipped


def lines(**qty: int) -> list[dict[str, object]]:
    return [{"sku": sku, "qty": n} for sku, n in qty.items()]
