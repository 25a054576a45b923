"""The storefront pages: fill a cart, check it out, see the order, cancel it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.checkout.actions import (
    order_mark_dispatched,
    order_place,
    product_upsert,
)
from services.checkout.models import Cart, CartLine, Order, OrderLine, OrderStatus
from services.checkout.views import CART_SESSION_KEY

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture(autouse=True)
def _shop_urls(settings) -> None:
    settings.ROOT_URLCONF = "tests.services.checkout.urls"


def add(client: Client, sku: str, qty: Any) -> Any:
    return client.post("/shop/cart/add", {"sku": sku, "qty": qty})


def unquote(response: Any) -> str:
    return response.content.decode().replace("&#x27;", "'")


def test_the_storefront_lists_products_on_sale_with_csrf_protected_forms(topics):
    """Each active product has an add-to-cart form; discontinued ones are not shown."""
    response = Client().get("/shop/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="MUG"' in html and 'value="TEE"' in html
    assert 'value="OLD"' not in html and "Discontinued" not in html
    assert html.count('action="/shop/cart/add"') == 2
    assert 'name="csrfmiddlewaretoken"' in html


def test_adding_to_the_cart_keeps_it_in_the_session_and_publishes_nothing(topics):
    """The first add opens a cart; later adds go to the same one."""
    client = Client()
    with capture_events() as captured:
        response = add(client, "MUG", "2")
        add(client, "TEE", "1")
        add(client, "MUG", "1")
    captured.assert_published()
    assert response.status_code == 303
    assert response["Location"] == "/shop/"
    cart = Cart.objects.get()
    assert client.session[CART_SESSION_KEY] == cart.id
    assert [(x.sku, x.qty) for x in cart.lines.all()] == [("MUG", 3), ("TEE", 1)]
    html = client.get("/shop/").content.decode()
    assert "Your cart: 4 items, 6100 ¢ EUR." in html
    assert Client().get("/shop/cart").content.decode().count("data-sku=") == 0


def test_the_cart_page_lists_lines_with_totals_and_changes_them(topics):
    """Quantities can be changed (0 removes) and lines removed from the cart page."""
    client = Client()
    add(client, "MUG", "2")
    add(client, "TEE", "1")
    html = client.get("/shop/cart").content.decode()
    assert 'data-sku="MUG"' in html and 'data-sku="TEE"' in html
    assert "2400 ¢" in html and '<th class="num" id="cart-total">4900 ¢ EUR' in html
    response = client.post("/shop/cart/update", {"sku": "MUG", "qty": "5"})
    assert (response.status_code, response["Location"]) == (303, "/shop/cart")
    assert 'id="cart-total">8500 ¢' in client.get("/shop/cart").content.decode()
    client.post("/shop/cart/update", {"sku": "TEE", "qty": "0"})
    cart = Cart.objects.get()
    assert [(x.sku, x.qty) for x in cart.lines.all()] == [("MUG", 5)]
    client.post("/shop/cart/remove", {"sku": "MUG"})
    assert not cart.lines.exists()
    assert 'id="cart-empty"' in client.get("/shop/cart").content.decode()


def test_checking_out_places_the_order_and_shows_it(customer):
    """Checkout with the email places the order, redirects to it, empties the cart."""
    client = Client()
    add(client, "MUG", "2")
    with capture_events() as captured:
        response = client.post("/shop/cart/checkout", {"email": " ADA@example.com "})
    captured.assert_published("order.placed")
    order = Order.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/shop/orders/{order.id}"
    assert [(x.sku, x.qty) for x in order.lines.all()] == [("MUG", 2)]
    assert order.customer == customer
    cart = Cart.objects.get()
    assert (cart.status, cart.order) == ("checked_out", order)
    assert CART_SESSION_KEY not in client.session

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert '<span class="status" id="status">placed</span>' in html
    assert "Cancel order" in html
    # The next add starts a new cart.
    add(client, "TEE", "1")
    assert Cart.objects.filter(status="open").count() == 1


def test_the_forms_need_the_csrf_token(customer):
    """Without the token adds and checkouts are refused (403); nothing is written."""
    client = Client(enforce_csrf_checks=True)
    assert add(client, "MUG", 1).status_code == 403
    checkout = client.post("/shop/cart/checkout", {"email": customer.email})
    assert checkout.status_code == 403
    assert Cart.objects.count() == 0

    client.get("/shop/")  # sets the CSRF cookie, as a browser would
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/shop/cart/add", {"sku": "MUG", "qty": 1, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 303
    response = client.post(
        "/shop/cart/checkout", {"email": customer.email, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 303
    assert Order.objects.count() == 1


BAD_ADDS = [
    # (id, form data, status, text the page must show)
    ("zero-qty", {"sku": "MUG", "qty": "0"}, 400, "greater than or equal to 1"),
    ("negative-qty", {"sku": "MUG", "qty": "-1"}, 400, "greater than or equal to 1"),
    ("qty-not-a-number", {"sku": "MUG", "qty": "two"}, 400, "Enter a whole number"),
    ("huge-qty", {"sku": "MUG", "qty": "99999999"}, 400, "less than or equal to"),
    ("missing-qty", {"sku": "MUG"}, 400, "Quantity: This field is required"),
    ("missing-sku", {"qty": "1"}, 400, "sku: This field is required"),
    ("unknown-sku", {"sku": "NOPE", "qty": "1"}, 422, "no product 'NOPE'"),
    ("discontinued-sku", {"sku": "OLD", "qty": "1"}, 422, "is no longer sold"),
]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [case[1:] for case in BAD_ADDS],
    ids=[case[0] for case in BAD_ADDS],
)
def test_bad_adds_rerender_with_the_message_and_write_nothing(
    topics, data: dict[str, Any], status: int, message: str
):
    """The storefront comes back with the error; no cart or line is written."""
    client = Client()
    with capture_events() as captured:
        response = client.post("/shop/cart/add", data)
    assert response.status_code == status
    html = unquote(response)
    assert "Not added to the cart." in html and message in html, html
    assert 'action="/shop/cart/add"' in html  # the products are shown again
    assert Cart.objects.count() == 0
    assert CartLine.objects.count() == 0
    assert CART_SESSION_KEY not in client.session
    assert captured.events == []


def test_a_refused_add_keeps_the_cart_and_what_was_typed(topics):
    """An existing cart is untouched, and the refused row shows the typed qty."""
    client = Client()
    add(client, "TEE", "1")
    response = add(client, "MUG", "-4")
    assert response.status_code == 400
    assert 'name="qty" aria-label="Quantity of Mug"\n            value="-4"' in (
        response.content.decode()
    )
    assert [(x.sku, x.qty) for x in CartLine.objects.all()] == [("TEE", 1)]


BAD_CHANGES = [
    ("update", {"sku": "MUG", "qty": "-1"}, 400, "greater than or equal to 0"),
    ("update", {"sku": "MUG", "qty": "x"}, 400, "Enter a whole number"),
    ("update", {"sku": "TEE", "qty": "2"}, 404, "has no line for 'TEE'"),
    ("remove", {"sku": "TEE"}, 404, "has no line for 'TEE'"),
    ("remove", {}, 400, "This field is required"),
]


@pytest.mark.parametrize(("action", "data", "status", "message"), BAD_CHANGES)
def test_bad_cart_changes_rerender_the_cart_and_change_nothing(
    topics, action, data, status, message
):
    client = Client()
    add(client, "MUG", "2")
    response = client.post(f"/shop/cart/{action}", data)
    assert response.status_code == status
    assert message in unquote(response)
    assert [(x.sku, x.qty) for x in CartLine.objects.all()] == [("MUG", 2)]


def test_changing_without_a_cart_is_404(topics):
    response = Client().post("/shop/cart/update", {"sku": "MUG", "qty": "1"})
    assert response.status_code == 404
    assert "Your cart is empty" in response.content.decode()
    assert Cart.objects.count() == 0


BAD_CHECKOUTS = [
    # (id, items to add first, email, status, text the page must show)
    (
        "unknown-email",
        [("MUG", 1)],
        "bob@example.com",
        400,
        "No customer is registered as bob@example.com",
    ),
    ("malformed-email", [("MUG", 1)], "ada", 400, "valid email"),
    ("missing-email", [("MUG", 1)], None, 400, "This field is required"),
    ("empty-cart", [], "ada@example.com", 422, "Your cart is empty"),
    ("discontinued", [("MUG", 1), ("TEE", 1)], "ada@example.com", 422, "TEE"),
]


@pytest.mark.parametrize(
    ("items", "email", "status", "message"),
    [case[1:] for case in BAD_CHECKOUTS],
    ids=[case[0] for case in BAD_CHECKOUTS],
)
def test_bad_checkouts_rerender_the_cart_and_place_nothing(
    customer, items, email, status, message
):
    """The cart page comes back with the error; no order, no event; the cart stays."""
    client = Client()
    for sku, qty in items:
        add(client, sku, qty)
    if items and items[-1][0] == "TEE":  # discontinued since it was added
        product_upsert(sku="TEE", name="T-shirt", price_cents=2500, active=False)
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured:
        data = {} if email is None else {"email": email}
        response = client.post("/shop/cart/checkout", data)
    assert response.status_code == status
    html = unquote(response)
    assert message in html, html
    assert 'action="/shop/cart/checkout"' in html
    if email:
        assert f'value="{email}"' in html  # what was typed is kept
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OutboxEvent.objects.count() == outbox
    assert captured.events == []
    assert not Cart.objects.exclude(status="open").exists()
    assert CartLine.objects.count() == len(items)


def test_a_second_submit_of_a_checkout_places_no_second_order(customer):
    """A replayed checkout post is refused with 409, naming the order placed."""
    client = Client()
    add(client, "MUG", "1")
    client.post("/shop/cart/checkout", {"email": customer.email})
    order = Order.objects.get()
    # The session forgot the cart after checkout; a replay still names it.
    replay = Client()
    session = replay.session
    session[CART_SESSION_KEY] = Cart.objects.get().id
    session.save()
    replay.cookies["sessionid"] = session.session_key
    with capture_events() as captured:
        response = replay.post("/shop/cart/checkout", {"email": customer.email})
    assert response.status_code == 409
    assert f"already checked out as order {order.id}" in unquote(response)
    assert captured.events == []
    assert Order.objects.count() == 1


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
