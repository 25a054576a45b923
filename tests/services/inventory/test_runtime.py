"""Inventory under the real consumer runtime, and concurrent reservations."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from eventbus import publish
from eventbus.client import get_redis
from eventbus.exceptions import UnknownEventType
from eventbus.keys import stream_key
from eventbus.schemas import get_event_type, register_event_type
from eventbus.testing import capture_events
from services.inventory.actions import stock_reserve
from services.inventory.models import Reservation, StockItem
from tests.eventbus.consumer_helpers import running, wait_until
from tests.services.inventory.conftest import levels, lines

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_heavy]

ORDER_PLACED_SCHEMA = {
    "type": "object",
    "required": [
        "order_id",
        "customer_id",
        "customer_email",
        "lines",
        "total_cents",
        "currency",
        "placed_at",
    ],
    "properties": {
        "order_id": {"type": "string"},
        "customer_id": {"type": "string"},
        "customer_email": {"type": "string"},
        "lines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku", "qty", "unit_price_cents"],
                "properties": {
                    "sku": {"type": "string"},
                    "qty": {"type": "integer", "minimum": 1},
                    "unit_price_cents": {"type": "integer", "minimum": 0},
                },
            },
        },
        "total_cents": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "placed_at": {"type": "string"},
    },
}


def test_a_published_order_is_reserved_by_the_inventory_group(stock):
    """order.placed on the bus -> the inventory worker publishes stock.reserved."""
    try:
        get_event_type("orders", "order.placed")
    except UnknownEventType:  # checkout's events.py is not there
        register_event_type("order.placed", topic="orders", schema=ORDER_PLACED_SCHEMA)
    stock(A=5)
    publish(
        "orders",
        "order.placed",
        {
            "order_id": "o1",
            "customer_id": "c1",
            "customer_email": "c1@example.com",
            "lines": [{"sku": "A", "qty": 2, "unit_price_cents": 100}],
            "total_cents": 200,
            "currency": "EUR",
            "placed_at": "2025-01-01T12:00:00Z",
        },
        key="o1",
    )
    logged = stock_log_length()
    with capture_events() as captured, running("inventory"):
        wait_until(
            lambda: Reservation.objects.filter(order_id="o1").exists(),
            what="the reservation of o1",
        )
        # The worker relays its outbox rows right after its batch commits.
        wait_until(lambda: stock_log_length() == logged + 2, what="2 stock events")
    captured.assert_published("stock.reserved", "stock.level_changed")
    assert levels("A") == (3, 2, 0)


def stock_log_length() -> int:
    client = get_redis()
    return sum(int(client.xlen(stream_key("stock", p))) for p in range(8))


@pytest.mark.parametrize("contenders", [2, 4])
def test_concurrent_orders_for_the_last_units_never_oversell(stock, contenders):
    """Orders racing for the last 2 units: exactly one wins, stock never negative."""
    # Several rounds: one race may be won without overlap by luck.
    for round in range(5):
        a, b = f"A{round}", f"B{round}"
        stock(**{a: 2, b: 10})
        race(contenders, round, a, b)
        outcomes = sorted(
            Reservation.objects.filter(order_id__startswith=f"r{round}-").values_list(
                "status", flat=True
            )
        )
        assert outcomes == ["held"] + ["rejected"] * (contenders - 1)
        assert levels(a) == (0, 2, 0)
        assert levels(b) == (9, 1, 0)
    for item in StockItem.objects.all():
        assert item.available >= 0
        assert item.available + item.reserved + item.shipped == (
            item.initial + item.restocked
        )


def race(contenders: int, round: int, a: str, b: str) -> None:
    """Reserve 2 of ``a`` and 1 of ``b`` from ``contenders`` threads at once."""
    barrier = threading.Barrier(contenders)
    errors: list[BaseException] = []

    def reserve(n: int) -> None:
        try:
            # Lines in a different SKU order per thread: locks are taken
            # sorted, so no deadlock whichever order the lines come in.
            order = lines(**{a: 2, b: 1}) if n % 2 else lines(**{b: 1, a: 2})
            barrier.wait(5)
            stock_reserve(order_id=f"r{round}-{n}", customer_id=f"c{n}", lines=order)
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
