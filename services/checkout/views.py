"""The storefront pages: parse the form, call one action, show the result.

Refusals re-render the page with the action's message: 400 when the form is
malformed (missing or unknown email, bad quantity), 422 when checkout refuses
the order (unknown or discontinued SKU), 409 when it is too late to cancel.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from services.checkout.actions import CANCELLABLE, order_cancel, order_place
from services.checkout.exceptions import OrderInvalid, OrderNotCancellable
from services.checkout.forms import QTY_PREFIX, CancelForm, OrderForm
from services.checkout.models import Order, Product


def _products() -> list[Product]:
    return list(Product.objects.filter(active=True))


def _storefront(
    request: HttpRequest, form: OrderForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    rows = [(p, form[QTY_PREFIX + p.sku]) for p in _products()]
    shown = {"email", "__all__", *(qty.name for _, qty in rows)}
    # Quantities posted for SKUs no longer listed have no row to show them.
    other = [
        f"{name[len(QTY_PREFIX) :]}: {' '.join(errors)}"
        for name, errors in form.errors.items()
        if name not in shown
    ]
    context = {"rows": rows, "form": form, "error": error, "other_errors": other}
    return render(request, "checkout/storefront.html", context, status=status)


@require_GET
def storefront(request: HttpRequest) -> HttpResponse:
    """List the products on sale with the order form."""
    return _storefront(request, OrderForm(products=_products()))


@require_POST
def place_order(request: HttpRequest) -> HttpResponse:
    """Place the order from the form and show it, or re-render with the error."""
    form = OrderForm(request.POST, products=_products())
    if not form.is_valid():
        return _storefront(request, form, status=400)
    try:
        order = order_place(customer=form.cleaned_data["email"], lines=form.lines())
    except OrderInvalid as exc:
        return _storefront(request, form, error=str(exc), status=422)
    # Post/redirect/get: reloading the order page must not place it again.
    return HttpResponseRedirect(reverse("checkout:order", args=[order.pk]), status=303)


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
    return HttpResponseRedirect(reverse("checkout:order", args=[order.pk]), status=303)
