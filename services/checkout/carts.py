"""Carts: what a shopper collects before checking out.

Cart changes publish nothing: only checking out does, through ``order_place``
(``order.placed`` on commit). Every action locks the cart row first, so a
change racing a checkout either lands before it or is refused after it, and
two checkouts of one cart place one order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from services.checkout.actions import order_place
from services.checkout.exceptions import CartInvalid, CartNotFound, CartNotOpen
from services.checkout.lines import MAX_QTY
from services.checkout.models import (
    Cart,
    CartLine,
    CartStatus,
    Customer,
    Order,
    Product,
)

# As many lines as one order request may have (serializers.MAX_LINES).
MAX_CART_LINES = 100


# --- actions ----------------------------------------------------------------


def cart_open(*, customer: Customer | None = None) -> Cart:
    """Create an empty open cart, optionally already naming its customer."""
    # Random, not a UUIDv7 like orders: the cart id is the only credential a
    # storefront session or an API client holds for it, so it must not be
    # guessable from the time it was opened.
    return Cart.objects.create(id=f"cart-{uuid.uuid4().hex}", customer=customer)


def cart_add(*, cart: Cart, sku: str, qty: int) -> CartLine:
    """Add ``qty`` of a product on sale to the cart (to its line if it has one)."""
    qty = _qty(qty, minimum=1)
    with transaction.atomic():
        current = _locked_open(cart.pk)
        _on_sale(sku)
        line = current.lines.filter(sku=sku).first()
        if line is None:
            if current.lines.count() >= MAX_CART_LINES:
                raise CartInvalid(
                    f"Cart {current.id} already has {MAX_CART_LINES} different "
                    "products, the most one order may hold; check it out and "
                    "open another cart for the rest."
                )
            line = CartLine.objects.create(cart=current, sku=sku, qty=qty)
        else:
            if line.qty + qty > MAX_QTY:
                raise CartInvalid(
                    f"{sku}: {line.qty} in the cart plus {qty} is more than the "
                    f"{MAX_QTY} one order may ask for; lower the quantity."
                )
            line.qty += qty
            line.save(update_fields=["qty"])
        current.save(update_fields=["updated_at"])
    return line


def cart_set_qty(*, cart: Cart, sku: str, qty: int) -> CartLine | None:
    """Set the quantity of a line of the cart; 0 removes it (and returns None)."""
    qty = _qty(qty, minimum=0)
    with transaction.atomic():
        current = _locked_open(cart.pk)
        line = _line(current, sku)
        if qty == 0:
            line.delete()
            current.save(update_fields=["updated_at"])
            return None
        line.qty = qty
        line.save(update_fields=["qty"])
        current.save(update_fields=["updated_at"])
    return line


def cart_remove(*, cart: Cart, sku: str) -> None:
    """Remove a product's line from the cart."""
    cart_set_qty(cart=cart, sku=sku, qty=0)


def cart_checkout(*, cart: Cart, customer: Customer) -> Order:
    """Place the cart's order for ``customer`` and mark the cart checked out.

    One transaction: the order, its lines, its ``order.placed`` outbox row
    and the cart's new status are written together or not at all. An empty
    cart, or one naming a SKU no longer sold, is refused with ``CartInvalid``.
    """
    with transaction.atomic():
        current = _locked_open(cart.pk)
        lines = list(current.lines.all())
        if not lines:
            raise CartInvalid(
                f"Cart {current.id} is empty: add at least one product, then check out."
            )
        products = Product.objects.in_bulk([line.sku for line in lines])
        problems = []
        for line in lines:
            product = products.get(line.sku)
            if product is None:
                problems.append(f"{line.sku!r} is not in the catalogue")
            elif not product.active:
                problems.append(f"{line.sku!r} ({product.name}) is no longer sold")
        if problems:
            raise CartInvalid(
                "The cart was not checked out: "
                + "; ".join(problems)
                + ". Remove these lines and check out again."
            )
        order = order_place(
            customer=customer, lines=[(line.sku, line.qty) for line in lines]
        )
        current.status = CartStatus.CHECKED_OUT
        current.customer = customer
        current.order = order
        current.save(update_fields=["status", "customer", "order", "updated_at"])
    cart.status, cart.customer, cart.order = current.status, customer, order
    return order


def _qty(qty: Any, *, minimum: int) -> int:
    # bool is an int subclass; True is not a quantity.
    if (
        not isinstance(qty, int)
        or isinstance(qty, bool)
        or not minimum <= qty <= MAX_QTY
    ):
        raise CartInvalid(
            f"The quantity must be a whole number from {minimum} to {MAX_QTY}, "
            f"got {qty!r}."
        )
    return qty


def _on_sale(sku: Any) -> Product:
    product = Product.objects.filter(pk=sku).first() if isinstance(sku, str) else None
    if product is None:
        raise CartInvalid(
            f"There is no product {sku!r} in the catalogue; pick one listed in "
            "the shop."
        )
    if not product.active:
        raise CartInvalid(
            f"{sku} ({product.name}) is no longer sold; pick another product."
        )
    return product


def _locked_open(cart_id: str) -> Cart:
    cart = Cart.objects.select_for_update().filter(pk=cart_id).first()
    if cart is None:
        raise CartNotFound(
            f"There is no cart {cart_id!r}; open a new one (it may have been removed)."
        )
    if cart.status != CartStatus.OPEN:
        raise CartNotOpen(
            f"Cart {cart.id} was already checked out as order {cart.order_id}; "
            "open a new cart to buy more."
        )
    return cart


def _line(cart: Cart, sku: str) -> CartLine:
    line = cart.lines.filter(sku=sku).first() if isinstance(sku, str) else None
    if line is None:
        raise CartNotFound(
            f"Cart {cart.id} has no line for {sku!r}; add the product first."
        )
    return line


# --- reading ----------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    """A cart line with today's catalogue price (None when no longer sold)."""

    sku: str
    name: str
    qty: int
    unit_price_cents: int | None

    @property
    def total_cents(self) -> int | None:
        if self.unit_price_cents is None:
            return None
        return self.qty * self.unit_price_cents


@dataclass(frozen=True)
class PricedCart:
    """A cart as the storefront and the API show it."""

    cart: Cart
    lines: list[PricedLine]
    currency: str = "EUR"

    @property
    def total_cents(self) -> int:
        """Return the total of the lines that can still be bought."""
        return sum(line.total_cents or 0 for line in self.lines)

    @property
    def count(self) -> int:
        return sum(line.qty for line in self.lines)


def cart_priced(cart: Cart) -> PricedCart:
    """Return the cart's lines priced from the catalogue as it is now."""
    lines = list(cart.lines.all())
    products = Product.objects.in_bulk([line.sku for line in lines])
    priced = []
    for line in lines:
        product = products.get(line.sku)
        on_sale = product is not None and product.active
        priced.append(
            PricedLine(
                sku=line.sku,
                name=product.name if product else line.sku,
                qty=line.qty,
                unit_price_cents=product.price_cents if on_sale else None,
            )
        )
    return PricedCart(cart=cart, lines=priced)
