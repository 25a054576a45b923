"""The shop's REST endpoints: parse the body, call one action, render the order.

No authentication yet (issue 6 adds tokens): the views take no credentials
and, having no session authentication, are exempt from CSRF. They accept JSON
bodies only, which a cross-site HTML form cannot send.

Every error has one shape, ``{"type", "title", "detail", "errors"}``, built by
``problem_handler`` with config/problems.py (shared with the bus API);
``errors`` maps fields to messages (empty when the problem is not about a
field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.problems import drf_problem, problem
from services.checkout.actions import order_cancel, order_place
from services.checkout.exceptions import (
    CartInvalid,
    CartNotFound,
    CartNotOpen,
    CheckoutError,
    OrderInvalid,
    OrderNotCancellable,
    OrderNotFound,
)
from services.checkout.models import Customer, Order
from services.checkout.serializers import (
    CancelSerializer,
    OrderSerializer,
    PlaceOrderSerializer,
)

# Checkout's errors as HTTP: (status, type, title). The most specific class
# that matches wins, so subclasses may be listed after their base.
_CHECKOUT_ERRORS: dict[type[CheckoutError], tuple[int, str, str]] = {
    OrderInvalid: (422, "order-invalid", "The order cannot be placed"),
    OrderNotCancellable: (409, "order-not-cancellable", "Too late to cancel"),
    OrderNotFound: (404, "not-found", "No such order"),
    CartInvalid: (422, "cart-invalid", "The cart cannot be changed or checked out"),
    CartNotFound: (404, "not-found", "No such cart or cart line"),
    CartNotOpen: (409, "cart-checked-out", "The cart was already checked out"),
}


def problem_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn checkout's and DRF's exceptions into the one error shape."""
    for cls in type(exc).__mro__:
        if cls in _CHECKOUT_ERRORS:
            code, type_, title = _CHECKOUT_ERRORS[cls]
            return problem(code, type_, title, str(exc))
    # None for anything else: a bug, so Django answers 500 and logs it.
    return drf_problem(exc, invalid_status=400)


class ShopAPIView(APIView):
    """Base of the shop endpoints: JSON in and out, errors in one shape."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    # Left out of /api/schema/ (which documents the bus API) until the shop's
    # bodies have response serializers to document them with.
    schema = None

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return problem_handler


def _order(order_id: str) -> Order:
    order = Order.objects.prefetch_related("lines").filter(pk=order_id).first()
    if order is None:
        raise exceptions.NotFound(
            f"There is no order {order_id!r}; check the id returned when it was placed."
        )
    return order


def _validated(serializer_class: type[Any], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise exceptions.ValidationError(
            f"The body must be a JSON object, got {type(data).__name__}."
        )
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OrdersView(ShopAPIView):
    def post(self, request: Request) -> Response:
        """Place an order: 201 and the order, or the problem."""
        data = _validated(PlaceOrderSerializer, request.data)
        customer = Customer.objects.filter(pk=data["customer_id"]).first()
        if customer is None:
            raise exceptions.NotFound(
                f"There is no customer {data['customer_id']!r}; register the "
                "customer first or check the id."
            )
        order = order_place(customer=customer, lines=data["lines"])
        return Response(
            OrderSerializer(_order(order.pk)).data, status=status.HTTP_201_CREATED
        )


class OrderView(ShopAPIView):
    def get(self, request: Request, order_id: str) -> Response:
        """Show one order."""
        return Response(OrderSerializer(_order(order_id)).data)


class CancelOrderView(ShopAPIView):
    def post(self, request: Request, order_id: str) -> Response:
        """Cancel an order: 200 and the order, or 409 when it is too late."""
        data = _validated(CancelSerializer, request.data)
        order = order_cancel(order=_order(order_id), reason=data["reason"])
        return Response(OrderSerializer(_order(order.pk)).data)
