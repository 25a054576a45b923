"""Inventory's actions: the only code that writes stock and publishes stock events.

Every action writes and publishes in one transaction (``publish_on_commit``),
so an event is on the bus if and only if its change committed. Rows are
locked with ``select_for_update`` in one order everywhere, the reservation
first and then stock items by ascending SKU, so concurrent workers wait for
each other instead of deadlocking or selling the same unit twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction

from eventbus import publish_on_commit
from services.inventory.events import (
    STOCK_LEVEL_CHANGED,
    STOCK_REJECTED,
    STOCK_RELEASED,
    STOCK_RESERVED,
    TOPIC,
)
from services.inventory.exceptions import InvalidStock
from services.inventory.models import Reservation, StockItem

logger = logging.getLogger("services.inventory")

REJECTED_REASON = "insufficient stock"


def stock_reserve(
    *, order_id: str, customer_id: str, lines: Iterable[Mapping[str, Any]]
) -> Reservation:
    """Hold stock for every line of an order, or for none of them.

    Publishes ``stock.reserved`` and one ``stock.level_changed`` per SKU, or
    ``stock.rejected`` naming every short SKU. A repeated call for the same
    order returns the recorded outcome and publishes nothing.
    """
    _require_text("order_id", order_id)
    _require_text("customer_id", customer_id)
    wanted = _merge_lines(lines)
    existing = Reservation.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        items = _lock_items(wanted)
        # Checked again under the item locks: a concurrent call for the same
        # order that held them has committed by now, and READ COMMITTED sees it.
        existing = Reservation.objects.filter(order_id=order_id).first()
        if existing is not None:
            return existing
        short = [
            {"sku": sku, "requested": qty, "available": _available(items, sku)}
            for sku, qty in wanted.items()
            if _available(items, sku) < qty
        ]
        status = Reservation.Status.REJECTED if short else Reservation.Status.HELD
        reservation, created = _create_reservation(
            order_id, customer_id, wanted, status
        )
        if not created:  # lost a race with a call for the same order
            return reservation
        if short:
            publish_on_commit(
                TOPIC,
                STOCK_REJECTED,
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "reason": REJECTED_REASON,
                    "short": short,
                },
                key=order_id,
            )
            return reservation
        for sku, qty in wanted.items():
            item = items[sku]
            item.available -= qty
            item.reserved += qty
            item.save(update_fields=["available", "reserved", "updated_at"])
        publish_on_commit(
            TOPIC,
            STOCK_RESERVED,
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "lines": reservation.lines,
            },
            key=order_id,
        )
        for sku, qty in wanted.items():
            _publish_level(items[sku], change=-qty, reason="reserved")
    return reservation


def stock_ship(*, order_id: str) -> Reservation | None:
    """Move a held reservation's units from reserved to shipped.

    An unknown or already shipped order is a no-op; a released or rejected
    one cannot ship and is logged as an error (``retail check`` flags it).
    """
    with transaction.atomic():
        reservation = _lock_reservation(order_id)
        if reservation is None:
            logger.warning("Order %s has no reservation; nothing to ship.", order_id)
            return None
        if reservation.status == Reservation.Status.SHIPPED:
            logger.info("Order %s is already shipped; nothing to do.", order_id)
            return reservation
        if reservation.status != Reservation.Status.HELD:
            logger.error(
                "Order %s was dispatched but its reservation is %s: no stock is "
                "held for it, so nothing was moved to shipped. Check the order "
                "with 'manage.py retail check'.",
                order_id,
                reservation.status,
            )
            return reservation
        wanted = _merge_lines(reservation.lines)
        items = _lock_items(wanted)
        for sku, qty in wanted.items():
            item = _held_item(items, sku, order_id)
            item.reserved -= qty
            item.shipped += qty
            item.save(update_fields=["reserved", "shipped", "updated_at"])
        _set_status(reservation, Reservation.Status.SHIPPED)
        for sku, qty in wanted.items():
            _publish_level(items[sku], change=-qty, reason="shipped")
    return reservation


def stock_release(*, order_id: str, reason: str) -> Reservation | None:
    """Return a held reservation's units to available stock.

    Publishes ``stock.released`` and one ``stock.level_changed`` per SKU. An
    order without a held reservation is a no-op.
    """
    _require_text("reason", reason)
    with transaction.atomic():
        reservation = _lock_reservation(order_id)
        if reservation is None or reservation.status != Reservation.Status.HELD:
            logger.info(
                "Order %s has no held reservation (%s); nothing to release.",
                order_id,
                reservation.status if reservation else "none",
            )
            return reservation
        wanted = _merge_lines(reservation.lines)
        items = _lock_items(wanted)
        for sku, qty in wanted.items():
            item = _held_item(items, sku, order_id)
            item.reserved -= qty
            item.available += qty
            item.save(update_fields=["reserved", "available", "updated_at"])
        _set_status(reservation, Reservation.Status.RELEASED)
        publish_on_commit(
            TOPIC,
            STOCK_RELEASED,
            {"order_id": order_id, "lines": reservation.lines, "reason": reason},
            key=order_id,
        )
        for sku, qty in wanted.items():
            _publish_level(items[sku], change=qty, reason="released")
    return reservation


def stock_restock(*, sku: str, qty: int) -> StockItem:
    """Add ``qty`` units to a SKU's available stock, creating the SKU if missing."""
    _require_text("sku", sku)
    _require_positive("qty", qty)
    with transaction.atomic():
        StockItem.objects.get_or_create(sku=sku)
        item = StockItem.objects.select_for_update().get(sku=sku)
        _restock_locked(item, qty)
    return item


def stock_restock_low(*, below: int, to: int) -> int:
    """Restock every SKU with fewer than ``below`` available up to ``to``.

    Returns how many SKUs were restocked. Each SKU is restocked in its own
    short transaction, so the task never holds many rows locked at once.
    """
    _require_positive("below", below)
    _require_positive("to", to)
    if to < below:
        raise InvalidStock(
            f"stock_restock_low(below={below}, to={to}) would leave SKUs below "
            f"the threshold; pass 'to' greater than or equal to 'below'."
        )
    restocked = 0
    low = StockItem.objects.filter(available__lt=below).values_list("sku", flat=True)
    for sku in list(low):
        with transaction.atomic():
            item = StockItem.objects.select_for_update().get(sku=sku)
            # Re-read under the lock: a reservation or restock may have run.
            if item.available < below:
                _restock_locked(item, to - item.available)
                restocked += 1
    return restocked


def stock_create(*, sku: str, initial: int) -> StockItem:
    """Create a SKU with its initial stock (seeding); publish its first level."""
    _require_text("sku", sku)
    _require_positive("initial", initial)
    with transaction.atomic():
        item, created = StockItem.objects.get_or_create(
            sku=sku, defaults={"initial": initial, "available": initial}
        )
        if not created:
            raise InvalidStock(
                f"SKU {sku!r} already exists; add units with stock_restock "
                f"(sku={sku!r}, qty=...) instead."
            )
        # The contract's reasons have no "created": new units are a restock
        # as far as consumers of level changes are concerned.
        _publish_level(item, change=initial, reason="restocked")
    return item


# --- helpers ------------------------------------------------------------


def _merge_lines(lines: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Return {sku: qty} in first-seen order, adding up repeated SKUs."""
    if isinstance(lines, (str, bytes)) or not isinstance(lines, Iterable):
        raise InvalidStock(
            f"lines must be a list of {{'sku': str, 'qty': int}} objects, not "
            f"{type(lines).__name__}."
        )
    merged: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, Mapping):
            raise InvalidStock(
                f"Line {number} is {line!r}; each line is an object with 'sku' "
                "and 'qty'."
            )
        sku = _require_text(f"line {number} sku", line.get("sku"))
        qty = _require_positive(f"line {number} qty", line.get("qty"))
        merged[sku] = merged.get(sku, 0) + qty
    if not merged:
        raise InvalidStock("The order has no lines; pass at least one {sku, qty}.")
    return merged


def _lock_items(wanted: Mapping[str, int]) -> dict[str, StockItem]:
    """Lock the existing items of these SKUs in ascending SKU order."""
    query = StockItem.objects.select_for_update().filter(sku__in=list(wanted))
    return {item.sku: item for item in query.order_by("sku")}


def _lock_reservation(order_id: str) -> Reservation | None:
    return Reservation.objects.select_for_update().filter(order_id=order_id).first()


def _available(items: Mapping[str, StockItem], sku: str) -> int:
    item = items.get(sku)
    return item.available if item else 0  # an unknown SKU has nothing to sell


def _held_item(items: Mapping[str, StockItem], sku: str, order_id: str) -> StockItem:
    item = items.get(sku)
    if item is None:
        # Items are never deleted by actions; only a manual delete gets here.
        raise InvalidStock(
            f"Order {order_id} holds SKU {sku!r}, which no longer exists; "
            "restore the stock item (stock_restock) and retry the event."
        )
    return item


def _create_reservation(
    order_id: str, customer_id: str, wanted: Mapping[str, int], status: str
) -> tuple[Reservation, bool]:
    lines = [{"sku": sku, "qty": qty} for sku, qty in wanted.items()]
    try:
        # A savepoint: a duplicate order id (two calls for an order whose
        # SKUs are all unknown lock nothing) must not poison the transaction.
        with transaction.atomic():
            reservation = Reservation.objects.create(
                order_id=order_id, customer_id=customer_id, status=status, lines=lines
            )
    except IntegrityError:
        return Reservation.objects.get(order_id=order_id), False
    return reservation, True


def _set_status(reservation: Reservation, status: str) -> None:
    reservation.status = status
    reservation.save(update_fields=["status", "updated_at"])


def _restock_locked(item: StockItem, qty: int) -> None:
    item.available += qty
    item.restocked += qty
    item.save(update_fields=["available", "restocked", "updated_at"])
    _publish_level(item, change=qty, reason="restocked")


def _publish_level(item: StockItem, *, change: int, reason: str) -> None:
    publish_on_commit(
        TOPIC,
        STOCK_LEVEL_CHANGED,
        {
            "sku": item.sku,
            "available": item.available,
            "reserved": item.reserved,
            "shipped": item.shipped,
            "change": change,
            "reason": reason,
        },
        key=item.sku,
    )


def _require_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidStock(f"{name} is {value!r}; pass a non-empty string.")
    return value


def _require_positive(name: str, value: object) -> int:
    # bool is an int in Python; True units of stock is a caller's bug.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidStock(f"{name} is {value!r}; pass a whole number of at least 1.")
    return value
