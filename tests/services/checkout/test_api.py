"""The shop REST API: place, show and cancel orders; refuse bad input cleanly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.checkout.actions import order_mark_dispatched, order_place
from services.checkout.models import Order, OrderLine, OrderStatus

pytestmark = pytest.mark.usefixtures("catalogue")

ORDERS = "/api/v1/shop/orders"
SHAPE = {"type", "title", "detail", "errors"}


@pytest.fixture(autouse=True)
def _shop_urls(settings) -> None:
    settings.ROOT_URLCONF = "tests.services.checkout.urls"


def post(path: str, body: Any, content_type: str = "application/json") -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return Client().post(path, raw, content_type=content_type)


def assert_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == SHAPE
    assert body["type"] == type_
    assert body["title"] and body["detail"]
    return body


def test_posting_an_order_places_it_and_publishes_order_placed(customer):
    """201 with the order as stored; order.placed is published for it."""
    with capture_events() as captured:
        response = post(
            ORDERS,
            {
                "customer_id": customer.id,
                "lines": [{"sku": "MUG", "qty": 2}, {"sku": "TEE", "qty": 1}],
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == order.id
    assert body["status"] == "placed"
    assert body["lines"] == [
        {"sku": "MUG", "qty": 2, "unit_price_cents": 1200},
        {"sku": "TEE", "qty": 1, "unit_price_cents": 2500},
    ]
    assert body["total_cents"] == 4900
    assert body["currency"] == "EUR"
    assert body["status_reason"] == ""
    assert body["placed_at"]
    captured.assert_published("order.placed")
    assert captured.events[0].data["order_id"] == order.id


def test_an_order_is_shown_by_id(customer):
    """GET returns the order with its current status."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    order_mark_dispatched(order_id=order.id, carrier="DHL", tracking_number="T1")
    response = Client().get(f"{ORDERS}/{order.id}")
    assert response.status_code == 200
    assert response.json()["status"] == "dispatched"
    assert response.json()["lines"] == [
        {"sku": "MUG", "qty": 1, "unit_price_cents": 1200}
    ]


def test_an_unknown_order_is_404_in_the_error_shape(topics):
    """GET and cancel of an id checkout does not have answer 404."""
    assert_problem(Client().get(f"{ORDERS}/o-nope"), 404, "not-found")
    with capture_events() as captured:
        response = post(f"{ORDERS}/o-nope/cancel", {"reason": "oops"})
    body = assert_problem(response, 404, "not-found")
    assert "o-nope" in body["detail"]
    assert captured.events == []


def test_cancelling_a_placed_order_publishes_order_cancelled(customer):
    """200 with the cancelled order and its reason; order.cancelled is published."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    with capture_events() as captured:
        response = post(f"{ORDERS}/{order.id}/cancel", {"reason": "changed my mind"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["status_reason"] == "changed my mind"
    captured.assert_published("order.cancelled")


def test_cancelling_a_dispatched_order_is_409_and_changes_nothing(customer):
    """The action's message says why; the order stays dispatched, nothing is sent."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    order_mark_dispatched(order_id=order.id)
    with capture_events() as captured:
        response = post(f"{ORDERS}/{order.id}/cancel", {"reason": "too slow"})
    body = assert_problem(response, 409, "order-not-cancellable")
    assert "dispatched" in body["detail"]
    assert captured.events == []
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": 3}, {"reason": None}],
    ids=["missing", "empty", "blank", "number", "null"],
)
def test_cancelling_needs_a_reason(customer, body):
    """400 naming the reason field; the order stays placed."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    with capture_events() as captured:
        response = post(f"{ORDERS}/{order.id}/cancel", body)
    problem = assert_problem(response, 400, "invalid-request")
    assert "reason" in problem["errors"]
    assert captured.events == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def _lines(*lines: Any) -> dict[str, Any]:
    return {"customer_id": "c-0001", "lines": list(lines)}


BAD_ORDERS = [
    # (id, body, content type, status, problem type, a field named in errors)
    ("unknown-sku", _lines({"sku": "NOPE", "qty": 1}), None, 422, "order-invalid", ""),
    ("discontinued", _lines({"sku": "OLD", "qty": 1}), None, 422, "order-invalid", ""),
    (
        "one-bad-line-of-two",
        _lines({"sku": "MUG", "qty": 1}, {"sku": "NOPE", "qty": 1}),
        None,
        422,
        "order-invalid",
        "",
    ),
    ("negative-qty", _lines({"sku": "MUG", "qty": -1}), None, 400, "", "lines"),
    ("zero-qty", _lines({"sku": "MUG", "qty": 0}), None, 400, "", "lines"),
    ("huge-qty", _lines({"sku": "MUG", "qty": 10**9}), None, 400, "", "lines"),
    ("qty-as-string", _lines({"sku": "MUG", "qty": "2"}), None, 400, "", "lines"),
    ("qty-as-float", _lines({"sku": "MUG", "qty": 1.5}), None, 400, "", "lines"),
    ("qty-as-bool", _lines({"sku": "MUG", "qty": True}), None, 400, "", "lines"),
    ("sku-as-number", _lines({"sku": 7, "qty": 1}), None, 400, "", "lines"),
    ("line-without-qty", _lines({"sku": "MUG"}), None, 400, "", "lines"),
    ("line-as-string", _lines("MUG"), None, 400, "", "lines"),
    ("no-lines", _lines(), None, 400, "", "lines"),
    ("missing-lines", {"customer_id": "c-0001"}, None, 400, "", "lines"),
    (
        "lines-not-a-list",
        {"customer_id": "c-0001", "lines": "MUG"},
        None,
        400,
        "",
        "lines",
    ),
    (
        "missing-customer",
        {"lines": [{"sku": "MUG", "qty": 1}]},
        None,
        400,
        "",
        "customer_id",
    ),
    (
        "customer-as-object",
        {"customer_id": {"id": 1}, "lines": [{"sku": "MUG", "qty": 1}]},
        None,
        400,
        "",
        "customer_id",
    ),
    ("empty-object", {}, None, 400, "", "customer_id"),
    ("body-is-a-list", [{"sku": "MUG", "qty": 1}], None, 400, "", ""),
    (
        "malformed-json",
        '{"customer_id": "c-0001", "lines": [',
        None,
        400,
        "malformed-body",
        "",
    ),
    ("empty-body", "", None, 400, "", ""),
    (
        "form-encoded",
        "customer_id=c-0001",
        "application/x-www-form-urlencoded",
        415,
        "unsupported-media-type",
        "",
    ),
    (
        "unknown-customer",
        {"customer_id": "c-9999", "lines": [{"sku": "MUG", "qty": 1}]},
        None,
        404,
        "not-found",
        "",
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "type_", "field"),
    [case[1:] for case in BAD_ORDERS],
    ids=[case[0] for case in BAD_ORDERS],
)
def test_bad_orders_are_refused_with_nothing_written_or_published(
    customer, body, content_type, status, type_, field
):
    """Each bad body gets its 4xx in the error shape; no order, no event."""
    assert customer.id == "c-0001"
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured:
        response = post(ORDERS, body, content_type or "application/json")
    problem = assert_problem(response, status, type_ or "invalid-request")
    if field:
        assert field in problem["errors"], problem
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OutboxEvent.objects.count() == outbox
    assert captured.events == []


def test_an_unknown_sku_is_named_with_the_actions_message(customer):
    """422 detail is order_place's message: the line, the SKU, what to do."""
    response = post(ORDERS, _lines({"sku": "MUG", "qty": 1}, {"sku": "NOPE", "qty": 2}))
    detail = assert_problem(response, 422, "order-invalid")["detail"]
    assert "line 2 (sku 'NOPE'): unknown SKU" in detail
    assert "place the order again" in detail


def test_field_errors_name_the_bad_line_and_field(customer):
    """A negative quantity is reported under lines -> its index -> qty."""
    response = post(ORDERS, _lines({"sku": "MUG", "qty": 1}, {"sku": "TEE", "qty": -3}))
    errors = assert_problem(response, 400, "invalid-request")["errors"]
    assert "qty" in errors["lines"]["1"]
    assert "0" not in errors["lines"]


def test_other_methods_are_405_in_the_error_shape(topics):
    """The list of orders cannot be read, and an order cannot be replaced."""
    assert_problem(Client().get(ORDERS), 405, "method-not-allowed")
    assert_problem(
        Client().put(f"{ORDERS}/o-x", "{}", content_type="application/json"),
        405,
        "method-not-allowed",
    )
