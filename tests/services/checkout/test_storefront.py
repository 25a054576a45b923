"""The storefront pages: order from a form, see the order, cancel it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.checkout.actions import order_mark_dispatched, order_place
from services.checkout.models import Order, OrderLine, OrderStatus

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture(autouse=True)
def _shop_urls(settings) -> None:
    settings.ROOT_URLCONF = "tests.services.checkout.urls"


def test_the_storefront_lists_products_on_sale_with_a_csrf_protected_form(topics):
    """Active products get a quantity input; discontinued ones are not shown."""
    response = Client().get("/shop/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="qty_MUG"' in html and 'name="qty_TEE"' in html
    assert "qty_OLD" not in html and "Discontinued" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'action="/shop/order"' in html


def test_ordering_from_the_form_places_the_order_and_shows_it(customer):
    """The form places the order, redirects to its page, and order.placed is sent."""
    with capture_events() as captured:
        response = Client().post(
            "/shop/order",
            {"email": " ADA@example.com ", "qty_MUG": "2", "qty_TEE": ""},
        )
    captured.assert_published("order.placed")
    order = Order.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/shop/orders/{order.id}"
    assert [(x.sku, x.qty) for x in order.lines.all()] == [("MUG", 2)]
    assert order.customer == customer

    page = Client().get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert '<span class="status" id="status">placed</span>' in html
    assert "Cancel order" in html


def test_the_form_needs_the_csrf_token(customer):
    """Without the token the post is refused (403) and nothing is placed."""
    client = Client(enforce_csrf_checks=True)
    with capture_events() as captured:
        response = client.post("/shop/order", {"email": customer.email, "qty_MUG": 1})
    assert response.status_code == 403
    assert Order.objects.count() == 0
    assert captured.events == []

    client.get("/shop/")  # sets the CSRF cookie, as a browser would
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/shop/order",
        {"email": customer.email, "qty_MUG": 1, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 303
    assert Order.objects.count() == 1


BAD_FORMS = [
    # (id, form data, status, text the page must show)
    (
        "unknown-email",
        {"email": "bob@example.com", "qty_MUG": "1"},
        400,
        "No customer is registered as bob@example.com",
    ),
    ("missing-email", {"qty_MUG": "1"}, 400, "This field is required"),
    ("malformed-email", {"email": "ada", "qty_MUG": "1"}, 400, "valid email"),
    (
        "negative-qty",
        {"email": "ada@example.com", "qty_MUG": "-1"},
        400,
        "greater than or equal to 0",
    ),
    (
        "qty-not-a-number",
        {"email": "ada@example.com", "qty_MUG": "two"},
        400,
        "Enter a whole number",
    ),
    (
        "huge-qty",
        {"email": "ada@example.com", "qty_MUG": "99999999"},
        400,
        "less than or equal to 10000",
    ),
    (
        "nothing-chosen",
        {"email": "ada@example.com", "qty_MUG": "0"},
        400,
        "Choose a quantity of at least 1",
    ),
    (
        "no-quantities",
        {"email": "ada@example.com"},
        400,
        "Choose a quantity of at least 1",
    ),
    ("unknown-sku", {"email": "ada@example.com", "qty_NOPE": "1"}, 422, "unknown SKU"),
    (
        "discontinued-sku",
        {"email": "ada@example.com", "qty_MUG": "1", "qty_OLD": "1"},
        422,
        "no longer sold",
    ),
    (
        "bad-qty-of-unlisted-sku",
        {"email": "ada@example.com", "qty_NOPE": "-2"},
        400,
        "NOPE: Ensure this value is greater than or equal to 0",
    ),
]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [case[1:] for case in BAD_FORMS],
    ids=[case[0] for case in BAD_FORMS],
)
def test_bad_forms_rerender_with_the_message_and_change_nothing(
    customer, data: dict[str, Any], status: int, message: str
):
    """The page comes back with the error; no order is written, nothing is sent."""
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured:
        response = Client().post("/shop/order", data)
    assert response.status_code == status
    html = response.content.decode()
    assert message in html.replace("&#x27;", "'"), html
    assert 'action="/shop/order"' in html  # the form is shown again
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OutboxEvent.objects.count() == outbox
    assert captured.events == []


def test_a_refused_form_keeps_what_was_typed(customer):
    """The email and the quantities are filled in again after a refusal."""
    response = Client().post(
        "/shop/order", {"email": "ada@example.com", "qty_MUG": "3", "qty_NOPE": "1"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="ada@example.com"' in html
    assert 'name="qty_MUG" value="3"' in html


def test_cancelling_from_the_order_page_publishes_order_cancelled(customer):
    """The cancel button cancels with the reason given; the page shows it."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    with capture_events() as captured:
        response = Client().post(
            f"/shop/orders/{order.id}/cancel", {"reason": "found it cheaper"}
        )
    captured.assert_published("order.cancelled")
    assert response.status_code == 303
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    html = Client().get(f"/shop/orders/{order.id}").content.decode()
    assert '<span class="status" id="status">cancelled</span>' in html
    assert "found it cheaper" in html
    assert "Cancel order" not in html


def test_cancelling_too_late_shows_why_and_changes_nothing(customer):
    """A dispatched order re-renders with 409 and the action's message."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    order_mark_dispatched(order_id=order.id, carrier="DHL", tracking_number="T1")
    html = Client().get(f"/shop/orders/{order.id}").content.decode()
    assert "Cancel order" not in html  # no button once it is too late
    with capture_events() as captured:
        response = Client().post(f"/shop/orders/{order.id}/cancel", {"reason": "x"})
    assert response.status_code == 409
    assert "has been dispatched" in response.content.decode()
    assert captured.events == []
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED


def test_cancelling_without_a_reason_is_400(customer):
    """The reason is required; the order stays placed and nothing is sent."""
    order = order_place(customer=customer, lines=[("MUG", 1)])
    with capture_events() as captured:
        response = Client().post(f"/shop/orders/{order.id}/cancel", {"reason": " "})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert captured.events == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_an_unknown_order_page_is_404(topics):
    """Showing or cancelling an order checkout does not have is 404."""
    assert Client().get("/shop/orders/o-nope").status_code == 404
    assert (
        Client().post("/shop/orders/o-nope/cancel", {"reason": "x"}).status_code == 404
    )
