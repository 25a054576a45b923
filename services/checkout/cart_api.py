"""The shop API's cart endpoints: open, fill, change and check out a cart.

Same conventions as ``api.py``: JSON only, no credentials yet (the random
cart id is what a client holds), every error in the shop's one shape.
Each view parses the body, calls one cart action and renders the cart.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from services.checkout.api import ShopAPIView, _order, _validated
from services.checkout.carts import (
    PricedCart,
    cart_add,
    cart_checkout,
    cart_open,
    cart_priced,
    cart_remove,
    cart_set_qty,
)
from services.checkout.models import Cart, Customer
from services.checkout.serializers import (
    CheckoutSerializer,
    LineSerializer,
    OrderSerializer,
    SetQtySerializer,
)


def _cart(cart_id: str) -> Cart:
    cart = Cart.objects.filter(pk=cart_id).first()
    if cart is None:
        raise exceptions.NotFound(
            f"There is no cart {cart_id!r}; check the id returned when it was "
            "opened, or open a new one with POST /api/v1/shop/carts."
        )
    return cart


def cart_body(priced: PricedCart) -> dict[str, Any]:
    """Render a cart: its lines at today's prices, total, and its order once placed."""
    cart = priced.cart
    return {
        "id": cart.id,
        "status": cart.status,
        "customer_id": cart.customer_id,
        "order_id": cart.order_id,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "qty": line.qty,
                # null when the SKU is no longer sold: checkout would refuse it.
                "unit_price_cents": line.unit_price_cents,
                "total_cents": line.total_cents,
            }
            for line in priced.lines
        ],
        "total_cents": priced.total_cents,
        "currency": priced.currency,
        "created_at": cart.created_at.isoformat(),
        "updated_at": cart.updated_at.isoformat(),
    }


def _rendered(cart_id: str, code: int = status.HTTP_200_OK) -> Response:
    return Response(cart_body(cart_priced(_cart(cart_id))), status=code)


class CartsView(ShopAPIView):
    def post(self, request: Request) -> Response:
        """Open an empty cart: 201 and the cart (its id is needed for the rest)."""
        if request.data not in ({}, None) and not isinstance(request.data, dict):
            raise exceptions.ValidationError(
                f"The body must be empty or a JSON object, got "
                f"{type(request.data).__name__}."
            )
        return _rendered(cart_open().pk, status.HTTP_201_CREATED)


class CartView(ShopAPIView):
    def get(self, request: Request, cart_id: str) -> Response:
        """Show one cart."""
        return _rendered(cart_id)


class CartLinesView(ShopAPIView):
    def post(self, request: Request, cart_id: str) -> Response:
        """Add ``qty`` of ``sku`` to the cart: 200 and the cart."""
        data = _validated(LineSerializer, request.data)
        cart_add(cart=_cart(cart_id), sku=data["sku"], qty=data["qty"])
        return _rendered(cart_id)


class CartLineView(ShopAPIView):
    def patch(self, request: Request, cart_id: str, sku: str) -> Response:
        """Set the line's quantity (0 removes it): 200 and the cart."""
        data = _validated(SetQtySerializer, request.data)
        cart_set_qty(cart=_cart(cart_id), sku=sku, qty=data["qty"])
        return _rendered(cart_id)

    def delete(self, request: Request, cart_id: str, sku: str) -> Response:
        """Remove the line: 200 and the cart."""
        cart_remove(cart=_cart(cart_id), sku=sku)
        return _rendered(cart_id)


class CartCheckoutView(ShopAPIView):
    def post(self, request: Request, cart_id: str) -> Response:
        """Check the cart out for a customer (id or email): 201 and the order."""
        data = _validated(CheckoutSerializer, request.data)
        cart = _cart(cart_id)
        customer = _customer(data["customer"])
        order = cart_checkout(cart=cart, customer=customer)
        return Response(
            OrderSerializer(_order(order.pk)).data, status=status.HTTP_201_CREATED
        )


def _customer(ref: str) -> Customer:
    ref = ref.strip()
    if "@" in ref:
        customer = Customer.objects.filter(email=ref.lower()).first()
    else:
        customer = Customer.objects.filter(pk=ref).first()
    if customer is None:
        raise exceptions.NotFound(
            f"There is no customer {ref!r}; give a registered customer's id "
            "(like 'c-0001') or email, or register the customer first."
        )
    return customer
