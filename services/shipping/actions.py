"""Shipping's actions: the only code that writes shipments and publishes.

Every action writes and publishes (``publish_on_commit``, key = order id) in
one transaction, so an event goes out if and only if its change committed.
Each is safe to repeat: handlers and Celery tasks deliver at least once.
"""

from __future__ import annotations

import logging
import random
import secrets
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from eventbus import publish_on_commit
from services.shipping.events import (
    SHIPMENT_CANCELLED,
    SHIPMENT_CREATED,
    SHIPMENT_DELIVERED,
    SHIPMENT_DISPATCHED,
    SHIPMENTS,
)
from services.shipping.exceptions import InvalidShipment, ShipmentNotFound
from services.shipping.models import Cancellation, Shipment

logger = logging.getLogger("services.shipping")

CARRIERS = ("DHL", "UPS", "FedEx", "La Poste", "PostNL")

Status = Shipment.Status


def shipment_create(
    *, order_id: str, customer_id: str, lines: list[dict[str, Any]]
) -> Shipment:
    """Create the order's shipment, cancelled if its cancellation came first.

    A second call for the same order returns the existing shipment unchanged.
    """
    _require_ids(order_id=order_id, customer_id=customer_id)
    clean = _clean_lines(lines, order_id)
    with transaction.atomic():
        _lock_order(order_id)
        existing = Shipment.objects.filter(order_id=order_id).first()
        if existing is not None:
            logger.info("Order %s already has shipment %s", order_id, existing.id)
            return existing
        cancellation = Cancellation.objects.filter(order_id=order_id).first()
        shipment = Shipment(
            id=_new_shipment_id(),
            order_id=order_id,
            customer_id=customer_id,
            lines=clean,
        )
        if cancellation is not None:
            # The cancel/dispatch race (docs/retail.md): the order was
            # cancelled before its stock was reserved. The cancelled shipment
            # and its event let inventory release what it just reserved.
            shipment.status = Status.CANCELLED
            shipment.cancel_reason = cancellation.reason
            shipment.cancelled_at = timezone.now()
            shipment.save(force_insert=True)
            _publish_cancelled(shipment)
            return shipment
        shipment.save(force_insert=True)
        publish_on_commit(
            SHIPMENTS,
            SHIPMENT_CREATED,
            {
                "shipment_id": shipment.id,
                "order_id": order_id,
                "customer_id": customer_id,
                "lines": clean,
            },
            key=order_id,
        )
        _schedule_on_commit("dispatch", shipment.id)
    return shipment


def shipment_cancel(
    *, order_id: str, customer_id: str, reason: str
) -> Shipment | Cancellation:
    """Cancel the order's shipment unless it was dispatched; remember it if none.

    Returns the shipment, or the recorded ``Cancellation`` when the order has
    no shipment yet (``shipment_create`` applies it when the stock arrives).
    """
    _require_ids(order_id=order_id, customer_id=customer_id)
    if not isinstance(reason, str):
        raise InvalidShipment(
            f"Cancel reason for order {order_id!r} must be a string, not "
            f"{type(reason).__name__}; pass the order.cancelled event's reason."
        )
    with transaction.atomic():
        _lock_order(order_id)
        shipment = (
            Shipment.objects.select_for_update().filter(order_id=order_id).first()
        )
        if shipment is None:
            cancellation, created = Cancellation.objects.get_or_create(
                order_id=order_id,
                defaults={"customer_id": customer_id, "reason": reason},
            )
            if created:
                logger.info("Order %s cancelled before its shipment exists", order_id)
            return cancellation
        if shipment.status == Status.CREATED:
            shipment.status = Status.CANCELLED
            shipment.cancel_reason = reason
            shipment.cancelled_at = timezone.now()
            shipment.save(update_fields=["status", "cancel_reason", "cancelled_at"])
            _publish_cancelled(shipment)
        elif shipment.status in (Status.DISPATCHED, Status.DELIVERED):
            # Too late: the parcel left. Inventory keeps it shipped, and the
            # order's history shows the dispatch.
            logger.warning(
                "Order %s cancelled after shipment %s was %s; nothing to cancel",
                order_id,
                shipment.id,
                shipment.status,
            )
    return shipment


def shipment_dispatch(*, shipment_id: str) -> Shipment:
    """Hand a created shipment to a carrier; a cancelled one stays cancelled."""
    with transaction.atomic():
        shipment = _locked(shipment_id)
        if shipment.status != Status.CREATED:
            logger.info(
                "Shipment %s is %s; not dispatching it", shipment_id, shipment.status
            )
            return shipment
        shipment.status = Status.DISPATCHED
        shipment.carrier = random.choice(CARRIERS)
        shipment.tracking_number = _tracking_number(shipment.carrier)
        shipment.dispatched_at = timezone.now()
        shipment.save(
            update_fields=["status", "carrier", "tracking_number", "dispatched_at"]
        )
        publish_on_commit(
            SHIPMENTS,
            SHIPMENT_DISPATCHED,
            {
                "shipment_id": shipment.id,
                "order_id": shipment.order_id,
                "customer_id": shipment.customer_id,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
            },
            key=shipment.order_id,
        )
        _schedule_on_commit("deliver", shipment.id)
    return shipment


def shipment_deliver(*, shipment_id: str) -> Shipment:
    """Mark a dispatched shipment delivered; any other state is left alone."""
    with transaction.atomic():
        shipment = _locked(shipment_id)
        if shipment.status != Status.DISPATCHED:
            logger.info(
                "Shipment %s is %s; not delivering it", shipment_id, shipment.status
            )
            return shipment
        shipment.status = Status.DELIVERED
        shipment.delivered_at = timezone.now()
        shipment.save(update_fields=["status", "delivered_at"])
        publish_on_commit(
            SHIPMENTS,
            SHIPMENT_DELIVERED,
            {
                "shipment_id": shipment.id,
                "order_id": shipment.order_id,
                "customer_id": shipment.customer_id,
            },
            key=shipment.order_id,
        )
    return shipment


def _publish_cancelled(shipment: Shipment) -> None:
    publish_on_commit(
        SHIPMENTS,
        SHIPMENT_CANCELLED,
        {
            "shipment_id": shipment.id,
            "order_id": shipment.order_id,
            "customer_id": shipment.customer_id,
            "reason": shipment.cancel_reason,
        },
        key=shipment.order_id,
    )


def _schedule_on_commit(step: str, shipment_id: str) -> None:
    def schedule() -> None:
        # Imported here: tasks imports this module.
        from services.shipping import tasks

        if step == "dispatch":
            task = tasks.dispatch
            delay = getattr(settings, "SHIPPING_DISPATCH_SECONDS", 2.0)
        else:
            task = tasks.deliver
            delay = getattr(settings, "SHIPPING_DELIVERY_SECONDS", 3.0)
        task.apply_async((shipment_id,), countdown=delay)

    # robust: the shipment is committed by now; a broker error must not fail
    # the consumer's batch after the fact. It is logged by Django, and the
    # shipment stays "created" (visible in admin) until dispatched by hand.
    transaction.on_commit(schedule, robust=True)


def _lock_order(order_id: str) -> None:
    # stock.reserved and order.cancelled arrive on different topics, so two
    # workers of the group may handle one order's create and cancel at once;
    # each would miss the other's uncommitted row and the cancel would be
    # lost. Serialise them per order. SQLite needs nothing: its transactions
    # are IMMEDIATE (config/settings/base.py), so writers already queue.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"shipping:{order_id}"]
            )


def _locked(shipment_id: str) -> Shipment:
    shipment = Shipment.objects.select_for_update().filter(id=shipment_id).first()
    if shipment is None:
        raise ShipmentNotFound(
            f"No shipment has id {shipment_id!r}. Shipments are created from "
            "stock.reserved events; check the id (Shipment admin lists them)."
        )
    return shipment


def _require_ids(**ids: object) -> None:
    for name, value in ids.items():
        if not isinstance(value, str) or not value:
            raise InvalidShipment(
                f"{name} must be a non-empty string, not {value!r}; pass the "
                "id from the event's data."
            )


def _clean_lines(lines: object, order_id: str) -> list[dict[str, Any]]:
    if not isinstance(lines, list) or not lines:
        raise InvalidShipment(
            f"Order {order_id!r} has no lines to ship ({lines!r}); pass the "
            "stock.reserved event's lines: a non-empty list of {sku, qty}."
        )
    clean = []
    for line in lines:
        sku = line.get("sku") if isinstance(line, dict) else None
        qty = line.get("qty") if isinstance(line, dict) else None
        if not isinstance(sku, str) or not sku or type(qty) is not int or qty < 1:
            raise InvalidShipment(
                f"Order {order_id!r} has a bad line {line!r}; each line needs a "
                "non-empty 'sku' string and a whole 'qty' of at least 1."
            )
        clean.append({"sku": sku, "qty": qty})
    return clean


def _new_shipment_id() -> str:
    return f"shp_{secrets.token_hex(8)}"


def _tracking_number(carrier: str) -> str:
    prefix = "".join(ch for ch in carrier.upper() if ch.isalpha())[:3]
    return f"{prefix}{secrets.randbelow(10**10):010d}"
