"""The shop API's carts: open, fill, change, check out; bad input changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.checkout.actions import product_upsert
from services.checkout.models import Cart, CartLine, Order, OrderLine
from tests.services.checkout.test_api import assert_problem, post

pytestmark = pytest.mark.usefixtures("catalogue")

CARTS = "/api/v1/shop/carts"


@pytest.fixture(autouse=True)
def _shop_urls(settings) -> None:
    settings.ROOT_URLCONF = "tests.services.checkout.urls"


def send(method: str, path: str, body: Any = None) -> Any:
    raw = "" if body is None else json.dumps(body)
    return getattr(Client(), method)(path, raw, content_type="application/json")


@pytest.fixture
def cart_id() -> str:
    response = post(CARTS, {})
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def lines(cart_id: str) -> list[tuple[str, int]]:
    return [(x.sku, x.qty) for x in CartLine.objects.filter(cart_id=cart_id)]


def test_a_cart_is_opened_filled_changed_and_shown_without_publishing(topics):
    """Each change answers with the whole cart at today's prices; no event is sent."""
    with capture_events() as captured:
        opened = send("post", CARTS)  # an empty body is fine
        assert opened.status_code == 201, opened.content
        cart_id = opened.json()["id"]
        post(f"{CARTS}/{cart_id}/lines", {"sku": "MUG", "qty": 2})
        post(f"{CARTS}/{cart_id}/lines", {"sku": "TEE", "qty": 1})
        added = post(f"{CARTS}/{cart_id}/lines", {"sku": "MUG", "qty": 1})
        patched = send("patch", f"{CARTS}/{cart_id}/lines/TEE", {"qty": 4})
        deleted = send("delete", f"{CARTS}/{cart_id}/lines/MUG")
        shown = Client().get(f"{CARTS}/{cart_id}")
    captured.assert_published()
    assert opened.json()["lines"] == [] and opened.json()["status"] == "open"
    assert added.status_code == 200
    assert [(x["sku"], x["qty"]) for x in added.json()["lines"]] == [
        ("MUG", 3),
        ("TEE", 1),
    ]
    assert added.json()["total_cents"] == 3 * 1200 + 2500
    assert patched.json()["lines"][1]["qty"] == 4
    assert deleted.status_code == 200
    body = shown.json()
    assert body["lines"] == [
        {
            "sku": "TEE",
            "name": "T-shirt",
            "qty": 4,
            "unit_price_cents": 2500,
            "total_cents": 10000,
        }
    ]
    assert (body["total_cents"], body["currency"]) == (10000, "EUR")
    assert (body["customer_id"], body["order_id"]) == (None, None)
    assert lines(cart_id) == [("TEE", 4)]


def test_patching_to_zero_removes_the_line(cart_id):
    post(f"{CARTS}/{cart_id}/lines", {"sku": "MUG", "qty": 2})
    response = send("patch", f"{CARTS}/{cart_id}/lines/MUG", {"qty": 0})
    assert response.status_code == 200
    assert response.json()["lines"] == []
    assert lines(cart_id) == []


@pytest.mark.parametrize("ref", ["c-0001", "ADA@example.com"], ids=["id", "email"])
def test_checking_out_places_the_order_once(cart_id, customer, ref):
    """201 with the order; order.placed is sent; a second checkout is 409."""
    post(f"{CARTS}/{cart_id}/lines", {"sku": "MUG", "qty": 2})
    with capture_events() as captured:
        response = post(f"{CARTS}/{cart_id}/checkout", {"customer": ref})
    assert response.status_code == 201, response.content
    captured.assert_published("order.placed")
    order = Order.objects.get()
    body = response.json()
    assert (body["id"], body["status"]) == (order.id, "placed")
    assert body["total_cents"] == 2400
    assert body["lines"] == [{"sku": "MUG", "qty": 2, "unit_price_cents": 1200}]
    cart = Client().get(f"{CARTS}/{cart_id}").json()
    assert (cart["status"], cart["order_id"], cart["customer_id"]) == (
        "checked_out",
        order.id,
        customer.id,
    )

    with capture_events() as again:
        second = post(f"{CARTS}/{cart_id}/checkout", {"customer": ref})
    detail = assert_problem(second, 409, "cart-checked-out")["detail"]
    assert order.id in detail
    assert again.events == []
    assert Order.objects.count() == 1
    added = post(f"{CARTS}/{cart_id}/lines", {"sku": "TEE", "qty": 1})
    assert_problem(added, 409, "cart-checked-out")


def _bad(method: str, where: str, body: Any, status: int, type_: str, field: str):
    return (method, where, body, status, type_, field)


BAD_REQUESTS = {
    # id: (method, path under the cart, body, status, problem type, field)
    "add-unknown-sku": _bad(
        "post", "/lines", {"sku": "NOPE", "qty": 1}, 422, "cart-invalid", ""
    ),
    "add-discontinued": _bad(
        "post", "/lines", {"sku": "OLD", "qty": 1}, 422, "cart-invalid", ""
    ),
    "add-zero": _bad("post", "/lines", {"sku": "MUG", "qty": 0}, 400, "", "qty"),
    "add-negative": _bad("post", "/lines", {"sku": "MUG", "qty": -1}, 400, "", "qty"),
    "add-qty-string": _bad(
        "post", "/lines", {"sku": "MUG", "qty": "2"}, 400, "", "qty"
    ),
    "add-no-sku": _bad("post", "/lines", {"qty": 1}, 400, "", "sku"),
    "add-body-list": _bad("post", "/lines", [1], 400, "", ""),
    "add-malformed": _bad("post", "/lines", "{", 400, "malformed-body", ""),
    "patch-negative": _bad("patch", "/lines/MUG", {"qty": -1}, 400, "", "qty"),
    "patch-float": _bad("patch", "/lines/MUG", {"qty": 1.5}, 400, "", "qty"),
    "patch-missing-line": _bad("patch", "/lines/TEE", {"qty": 1}, 404, "not-found", ""),
    "delete-missing-line": _bad("delete", "/lines/TEE", None, 404, "not-found", ""),
    "checkout-unknown-email": _bad(
        "post", "/checkout", {"customer": "bob@example.com"}, 404, "not-found", ""
    ),
    "checkout-unknown-id": _bad(
        "post", "/checkout", {"customer": "c-9999"}, 404, "not-found", ""
    ),
    "checkout-no-customer": _bad("post", "/checkout", {}, 400, "", "customer"),
    "checkout-customer-number": _bad(
        "post", "/checkout", {"customer": 1}, 400, "", "customer"
    ),
    "get-on-lines": _bad("get", "/lines", None, 405, "method-not-allowed", ""),
}


@pytest.mark.parametrize(
    ("method", "where", "body", "status", "type_", "field"),
    list(BAD_REQUESTS.values()),
    ids=list(BAD_REQUESTS),
)
def test_bad_requests_are_refused_and_change_nothing(
    cart_id, customer, method, where, body, status, type_, field
):
    """Each gets its 4xx in the shop's error shape; cart and orders are unchanged."""
    post(f"{CARTS}/{cart_id}/lines", {"sku": "MUG", "qty": 2})
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured:
        if isinstance(body, str):
            response = post(f"{CARTS}/{cart_id}{where}", body)
        else:
            response = send(method, f"{CARTS}/{cart_id}{where}", body)
    problem = assert_problem(response, status, type_ or "invalid-request")
    if field:
        assert field in problem["errors"], problem
    assert captured.events == []
    assert lines(cart_id) == [("MUG", 2)]
    assert Cart.objects.get(pk=cart_id).status == "open"
    assert (Order.objects.count(), OrderLine.objects.count()) == (0, 0)
    assert OutboxEvent.objects.count() == outbox


@pytest.mark.parametrize("discontinue", [False, True], ids=["empty", "discontinued"])
def test_a_cart_checkout_refuses_what_order_place_would(cart_id, customer, discontinue):
    """An empty cart, or one with a SKU no longer sold, is 422 with nothing placed."""
    if discontinue:
        post(f"{CARTS}/{cart_id}/lines", {"sku": "TEE", "qty": 1})
        product_upsert(sku="TEE", name="T-shirt", price_cents=2500, active=False)
    with capture_events() as captured:
        response = post(f"{CARTS}/{cart_id}/checkout", {"customer": customer.id})
    detail = assert_problem(response, 422, "cart-invalid")["detail"]
    assert ("no longer sold" if discontinue else "is empty") in detail
    assert captured.events == []
    assert Order.objects.count() == 0
    assert Cart.objects.get(pk=cart_id).status == "open"


@pytest.mark.parametrize(
    ("method", "where", "body"),
    [
        ("get", "", None),
        ("post", "/lines", {"sku": "MUG", "qty": 1}),
        ("patch", "/lines/MUG", {"qty": 1}),
        ("delete", "/lines/MUG", None),
        ("post", "/checkout", {"customer": "c-0001"}),
    ],
)
def test_an_unknown_cart_is_404(customer, method, where, body):
    response = send(method, f"{CARTS}/cart-nope{where}", body)
    detail = assert_problem(response, 404, "not-found")["detail"]
    assert "cart-nope" in detail
    assert Cart.objects.count() == 0 and Order.objects.count() == 0


def test_opening_a_cart_with_a_body_that_is_not_an_object_is_400(topics):
    assert_problem(post(CARTS, [1]), 400, "invalid-request")
    assert Cart.objects.count() == 0
