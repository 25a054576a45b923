"""The storefront pages: parse the form, call one action, show the result.

The shopper's open cart is remembered in the session (its id only). Refusals
re-render the page with the action's message and write nothing: 400 when the
form is malformed (bad quantity, missing or unknown email), 404 when the
cart has no such line, 409 when the cart was already checked out or it is
too late to cancel, 422 when checkout refuses (unknown or discontinued SKU,
empty cart).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from services.checkout.actions import CANCELLABLE, order_cancel
from services.checkout.carts import (
    cart_add,
    cart_checkout,
    cart_open,
    cart_priced,
    cart_remove,
    cart_set_qty,
)
from services.checkout.exceptions import (
    CartInvalid,
    CartNotFound,
    CartNotOpen,
    OrderInvalid,
    OrderNotCancellable,
)
from services.checkout.forms import (
    AddToCartForm,
    CancelForm,
    CartQtyForm,
    CheckoutForm,
    RemoveFromCartForm,
    form_problem,
)
from services.checkout.models import Cart, CartStatus, Order, Product

CART_SESSION_KEY = "checkout_cart_id"


def _session_cart(request: HttpRequest, *, open_only: bool = True) -> Cart | None:
    cart_id = request.session.get(CART_SESSION_KEY)
    if not cart_id:
        return None
    carts = Cart.objects.filter(pk=cart_id)
    return (carts.filter(status=CartStatus.OPEN) if open_only else carts).first()


def _redirect(name: str, *args: str) -> HttpResponse:
    # Post/redirect/get: reloading the page must not repeat the action.
    return HttpResponseRedirect(reverse(name, args=args), status=303)


def _storefront(
    request: HttpRequest,
    *,
    failed: AddToCartForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    cart = _session_cart(request)
    context = {
        "products": list(Product.objects.filter(active=True)),
        "priced": cart_priced(cart) if cart else None,
        "error": error,
        # The row that was refused keeps the quantity typed into it.
        "failed_sku": failed.data.get("sku") if failed else None,
        "failed_qty": failed.data.get("qty") if failed else None,
    }
    return render(request, "checkout/storefront.html", context, status=status)


@require_GET
def storefront(request: HttpRequest) -> HttpResponse:
    """List the products on sale, each with an add-to-cart form."""
    return _storefront(request)


@require_POST
def add_to_cart(request: HttpRequest) -> HttpResponse:
    """Add a product to the session's cart (opening one), or re-render with why."""
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        error = f"Not added to the cart. {form_problem(form)}"
        return _storefront(request, failed=form, error=error, status=400)
    sku, qty = form.cleaned_data["sku"], form.cleaned_data["qty"]
    try:
        # One transaction: a refused add must not leave a new empty cart behind.
        with transaction.atomic():
            cart = _session_cart(request) or cart_open()
            cart_add(cart=cart, sku=sku, qty=qty)
    except CartInvalid as exc:
        error = f"Not added to the cart. {exc}"
        return _storefront(request, failed=form, error=error, status=422)
    except CartNotOpen as exc:  # checked out by another tab meanwhile
        return _storefront(request, failed=form, error=str(exc), status=409)
    request.session[CART_SESSION_KEY] = cart.pk
    messages.success(request, f"Added {qty} × {sku} to your cart.")
    return _redirect("checkout:storefront")


def _cart_page(
    request: HttpRequest,
    *,
    form: CheckoutForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    cart = _session_cart(request)
    context = {
        "priced": cart_priced(cart) if cart else None,
        "form": form or CheckoutForm(),
        "error": error,
    }
    return render(request, "checkout/cart.html", context, status=status)


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    """Show the cart's lines at today's prices, with the checkout form."""
    return _cart_page(request)


@require_POST
def update_cart(request: HttpRequest) -> HttpResponse:
    """Change the quantity of a line of the cart (0 removes it)."""
    form = CartQtyForm(request.POST)
    if not form.is_valid():
        return _cart_page(request, error=form_problem(form), status=400)
    return _change_cart(
        request,
        lambda cart: cart_set_qty(
            cart=cart, sku=form.cleaned_data["sku"], qty=form.cleaned_data["qty"]
        ),
    )


@require_POST
def remove_from_cart(request: HttpRequest) -> HttpResponse:
    """Remove a line from the cart."""
    form = RemoveFromCartForm(request.POST)
    if not form.is_valid():
        return _cart_page(request, error=form_problem(form), status=400)
    return _change_cart(
        request, lambda cart: cart_remove(cart=cart, sku=form.cleaned_data["sku"])
    )


def _change_cart(
    request: HttpRequest, change: Callable[[Cart], object]
) -> HttpResponse:
    cart = _session_cart(request)
    if cart is None:
        return _cart_page(request, error=_EMPTY, status=404)
    try:
        change(cart)
    except CartInvalid as exc:
        return _cart_page(request, error=str(exc), status=400)
    except CartNotFound as exc:
        return _cart_page(request, error=str(exc), status=404)
    except CartNotOpen as exc:
        return _cart_page(request, error=str(exc), status=409)
    return _redirect("checkout:cart")


_EMPTY = "Your cart is empty: add a product from the shop first."


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Place the cart's order for the customer with that email and show it."""
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _cart_page(request, form=form, status=400)
    # A checked-out cart too: a replayed checkout is told which order it became.
    cart = _session_cart(request, open_only=False)
    if cart is None:
        return _cart_page(request, form=form, error=_EMPTY, status=422)
    try:
        order = cart_checkout(cart=cart, customer=form.cleaned_data["email"])
    except (CartInvalid, OrderInvalid) as exc:
        return _cart_page(request, form=form, error=str(exc), status=422)
    except CartNotOpen as exc:  # a replayed or concurrent second checkout
        return _cart_page(request, form=form, error=str(exc), status=409)
    request.session.pop(CART_SESSION_KEY, None)
    return _redirect("checkout:order", order.pk)


def _order_page(
    request: HttpRequest,
    order: Order,
    form: CancelForm,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "cancellable": order.status in CANCELLABLE,
        "form": form,
        "error": error,
    }
    return render(request, "checkout/order.html", context, status=status)


def _order(order_id: str) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise Http404(f"There is no order {order_id!r}.")
    return order


@require_GET
def order_detail(request: HttpRequest, order_id: str) -> HttpResponse:
    """Show an order, its status, and a cancel button while it may be cancelled."""
    return _order_page(request, _order(order_id), CancelForm())


@require_POST
def cancel_order(request: HttpRequest, order_id: str) -> HttpResponse:
    """Cancel the order and show it, or re-render it with the reason it is not."""
    order = _order(order_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _order_page(request, order, form, status=400)
    try:
        order_cancel(order=order, reason=form.cleaned_data["reason"])
    except OrderNotCancellable as exc:
        return _order_page(request, _order(order_id), form, error=str(exc), status=409)
    return _redirect("checkout:order", order.pk)
