"""Checkout's actions: the only code that writes its tables or publishes.

Orders move forward only. Stock and shipping events may arrive in any order
across topics (docs/retail.md), so each ``order_mark_*`` action names the
statuses it may move an order from and leaves any other status alone:
re-deliveries and late arrivals are no-ops.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from eventbus import publish_on_commit
from eventbus.envelope import new_event_id
from services.checkout.events import ORDER_CANCELLED, ORDER_PLACED, ORDERS
from services.checkout.exceptions import (
    CustomerInvalid,
    OrderInvalid,
    OrderNotCancellable,
    OrderNotFound,
    ProductInvalid,
)
from services.checkout.lines import LineInput, invalid, parse_lines
from services.checkout.models import Customer, Order, OrderLine, OrderStatus, Product

logger = logging.getLogger("services.checkout")

S = OrderStatus

# Which statuses each status update may move an order from; any other status
# is left as it is. Shipping's dispatch and delivery are facts about the
# parcel, so they win over a cancellation that came too late: shipping
# ignores order.cancelled once the parcel left and never sends
# shipment.cancelled, so the carrier has the goods.
_MOVES_FROM: dict[str, frozenset[str]] = {
    S.RESERVED: frozenset({S.PLACED}),
    S.REJECTED: frozenset({S.PLACED}),
    S.DISPATCHED: frozenset({S.PLACED, S.RESERVED, S.CANCELLED, S.REJECTED}),
    S.DELIVERED: frozenset(
        {S.PLACED, S.RESERVED, S.CANCELLED, S.REJECTED, S.DISPATCHED}
    ),
    S.CANCELLED: frozenset({S.PLACED, S.RESERVED}),
}
CANCELLABLE = frozenset({S.PLACED, S.RESERVED})


# --- catalogue and customers ------------------------------------------------


def customer_register(*, email: str, name: str) -> Customer:
    """Create a customer with the next free id (``c-0001``, ``c-0002``, ...)."""
    email = email.strip().lower() if isinstance(email, str) else email
    try:
        validate_email(email)
    except ValidationError:
        raise CustomerInvalid(
            f"{email!r} is not a valid email address; register with one like "
            "'ada@example.com'."
        ) from None
    if not isinstance(name, str) or not name.strip():
        raise CustomerInvalid(f"A customer needs a name, got {name!r}.")
    for _ in range(5):  # a concurrent registration may take the same id
        existing = Customer.objects.filter(email=email).first()
        if existing is not None:
            raise CustomerInvalid(
                f"{email} is already registered as {existing.id}; use that "
                "customer instead of registering again."
            )
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    id=_next_customer_id(), email=email, name=name.strip()
                )
        except IntegrityError:
            continue
    raise CustomerInvalid(
        f"Could not register {email}: ids kept colliding with concurrent "
        "registrations. Try again."
    )


def _next_customer_id() -> str:
    # Longest, then greatest: "c-10000" comes after "c-9999".
    last = (
        Customer.objects.filter(id__startswith="c-")
        .order_by(Length("id").desc(), "-id")
        .values_list("id", flat=True)
        .first()
    )
    number = int(last[2:]) + 1 if last and last[2:].isdigit() else 1
    return f"c-{number:04d}"


def product_upsert(
    *, sku: str, name: str, price_cents: int, active: bool = True
) -> Product:
    """Create or update a product; orders placed later use the new price."""
    if not isinstance(sku, str) or not sku or sku != sku.strip() or len(sku) > 64:
        raise ProductInvalid(
            f"SKU {sku!r} is not valid: use 1-64 characters without surrounding "
            "spaces, e.g. 'MUG-01'."
        )
    if not isinstance(name, str) or not name.strip():
        raise ProductInvalid(f"Product {sku} needs a name, got {name!r}.")
    if not isinstance(price_cents, int) or isinstance(price_cents, bool):
        raise ProductInvalid(
            f"Product {sku}: price_cents must be a whole number of cents, got "
            f"{price_cents!r}."
        )
    if price_cents < 0:
        raise ProductInvalid(f"Product {sku}: price_cents is {price_cents}; use >= 0.")
    product, _ = Product.objects.update_or_create(
        sku=sku,
        defaults={"name": name.strip(), "price_cents": price_cents, "active": active},
    )
    return product


# --- placing and cancelling -------------------------------------------------


def order_place(*, customer: Customer, lines: Sequence[LineInput]) -> Order:
    """Place an order at today's prices and publish ``order.placed`` on commit.

    Lines naming the same SKU are merged (quantities added): the order and
    its event carry each SKU once, so no consumer has to add them up. Any bad
    line refuses the whole order with ``OrderInvalid``; nothing is written or
    published.
    """
    requested, problems = parse_lines(lines)
    with transaction.atomic():
        if not Customer.objects.filter(pk=customer.pk).exists():
            raise OrderInvalid(
                f"Customer {customer.pk!r} is not registered; register them with "
                "customer_register() first."
            )
        products = Product.objects.in_bulk([sku for sku, _, _ in requested])
        for sku, _, number in requested:
            product = products.get(sku)
            if product is None:
                problems.append((number, f"line {number} (sku {sku!r}): unknown SKU"))
            elif not product.active:
                problems.append(
                    (number, f"line {number} (sku {sku!r}): no longer sold")
                )
        if problems:
            raise invalid(problems)
        order = Order.objects.create(
            id=f"o-{new_event_id()}",
            customer=customer,
            status=S.PLACED,
            total_cents=sum(
                qty * products[sku].price_cents for sku, qty, _ in requested
            ),
            placed_at=timezone.now(),
        )
        order_lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                sku=sku,
                qty=qty,
                unit_price_cents=products[sku].price_cents,
            )
            for sku, qty, _ in requested
        )
        publish_on_commit(
            ORDERS, ORDER_PLACED, _placed_data(order, order_lines), key=order.id
        )
    return order


def _placed_data(order: Order, lines: list[OrderLine]) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "customer_id": order.customer.id,
        "customer_email": order.customer.email,
        "lines": [
            {
                "sku": line.sku,
                "qty": line.qty,
                "unit_price_cents": line.unit_price_cents,
            }
            for line in lines
        ],
        "total_cents": order.total_cents,
        "currency": order.currency,
        "placed_at": order.placed_at.isoformat(),
    }


def order_cancel(*, order: Order, reason: str) -> Order:
    """Cancel a placed or reserved order and publish ``order.cancelled``.

    Checkout refuses only what it knows is too late; whether the cancellation
    wins over a dispatch already under way is shipping's decision
    (docs/retail.md, the cancel/dispatch race). Return the updated order.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise OrderInvalid(
            f"Cancelling order {order.pk} needs a reason (e.g. 'changed my mind'), "
            f"got {reason!r}."
        )
    with transaction.atomic():
        current = _locked(order.pk)
        if current.status not in CANCELLABLE:
            raise OrderNotCancellable(_not_cancellable(current))
        current.status = S.CANCELLED
        current.status_reason = reason.strip()[:500]
        current.save(update_fields=["status", "status_reason", "updated_at"])
        publish_on_commit(
            ORDERS,
            ORDER_CANCELLED,
            {
                "order_id": current.id,
                "customer_id": current.customer_id,
                "reason": current.status_reason,
            },
            key=current.id,
        )
    return current


_TOO_LATE: dict[str, str] = {
    S.DISPATCHED: "has been dispatched: the parcel is with the carrier; "
    "refuse the delivery or return the goods instead",
    S.DELIVERED: "has been delivered; return the goods instead",
    S.REJECTED: "was rejected (not enough stock), so nothing will ship; "
    "there is nothing to cancel",
    S.CANCELLED: "is already cancelled; there is nothing more to do",
}


def _not_cancellable(order: Order) -> str:
    why = _TOO_LATE[order.status]
    return f"Order {order.id} cannot be cancelled: it {why}."


# --- status updates from stock and shipping events --------------------------


def order_mark_reserved(*, order_id: str) -> Order:
    """Record that inventory reserved the order's stock."""
    return _move(order_id, S.RESERVED)


def order_mark_rejected(*, order_id: str, reason: str = "") -> Order:
    """Record that inventory refused the order (not enough stock)."""
    return _move(order_id, S.REJECTED, status_reason=reason[:500])


def order_mark_dispatched(
    *, order_id: str, carrier: str = "", tracking_number: str = ""
) -> Order:
    """Record that the parcel left with a carrier (even if cancelled meanwhile)."""
    return _move(
        order_id,
        S.DISPATCHED,
        carrier=carrier[:100],
        tracking_number=tracking_number[:100],
    )


def order_mark_delivered(*, order_id: str) -> Order:
    """Record that the carrier delivered the parcel."""
    return _move(order_id, S.DELIVERED)


def order_mark_cancelled(*, order_id: str, reason: str = "") -> Order:
    """Record that shipping cancelled the shipment (publishes nothing)."""
    return _move(order_id, S.CANCELLED, status_reason=reason[:500])


def _move(order_id: str, to: str, **fields: str) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        if order.status == to:
            return order  # a re-delivery or a duplicate: already there
        if order.status not in _MOVES_FROM[to]:
            logger.info(
                "order %s stays %s: %s arrived after it", order_id, order.status, to
            )
            return order
        if order.status == S.CANCELLED:
            # The cancellation lost the race with the carrier.
            fields.setdefault(
                "status_reason", "cancellation came too late: the parcel had left"
            )
        elif order.status == S.REJECTED:
            # Cannot happen if inventory answers once per order; the parcel is
            # the fact, so record it, and say so.
            logger.warning(
                "order %s was rejected but shipping reports it %s", order_id, to
            )
            fields.setdefault("status_reason", "")
        order.status = to
        for name, value in fields.items():
            setattr(order, name, value)
        order.save(update_fields=["status", *fields, "updated_at"])
    return order


def _locked(order_id: str) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound(
            f"Checkout has no order {order_id!r}. If an event named it, the "
            "database lost the order (was it reset while the bus kept its "
            "events?): purge the dead letter, or redrive it once the order exists."
        )
    return order
