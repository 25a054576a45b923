"""The storefront in a real browser: fill a cart, change it, check out."""

from __future__ import annotations

import re

import pytest

from services.checkout.models import Cart, CartLine, Customer, Order, Product

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(server, make_topic) -> str:
    """Two products and a customer, committed for the server; return the shop URL."""
    make_topic("orders", partitions=8)
    Product.objects.create(sku="MUG", name="Mug", price_cents=1200)
    Product.objects.create(sku="TEE", name="T-shirt", price_cents=2500)
    Customer.objects.create(id="c-0001", email="ada@example.com", name="Ada")
    return f"{server.url}/shop/"


def add(page, sku: str, qty: str) -> None:
    page.fill(f'tr[data-sku="{sku}"] input[name=qty]', qty)
    page.click(f'tr[data-sku="{sku}"] button')
    page.wait_for_load_state()


def test_a_shopper_fills_a_cart_changes_it_and_checks_out(page, shop, screenshot):
    """Two products in, one quantity changed, checkout lands on the placed order."""
    page.goto(shop)
    assert page.locator("tr[data-sku]").count() == 2
    screenshot(page, "storefront")
    add(page, "MUG", "2")
    assert "Added 2 × MUG to your cart." in page.inner_text(".notice")
    add(page, "TEE", "1")
    assert "3 items, 4900 ¢ EUR" in page.inner_text("#cart-summary")

    page.click("#cart-link")
    page.wait_for_url(re.compile(r"/shop/cart$"))
    page.fill('tr[data-sku="TEE"] input[name=qty]', "3")
    page.click('tr[data-sku="TEE"] button:has-text("Update")')
    page.wait_for_load_state()
    assert page.inner_text("#cart-total") == "9900 ¢ EUR"  # 2 × 1200 + 3 × 2500
    screenshot(page, "storefront-cart")

    page.fill("#id_email", "ada@example.com")
    page.click('button:has-text("Check out")')
    page.wait_for_url(re.compile(r"/shop/orders/o-"))
    assert page.text_content("#status") == "placed"  # shown upper-case by CSS
    assert "9900 ¢ EUR" in page.inner_text("tfoot")
    screenshot(page, "storefront-order")

    order = Order.objects.get()
    assert page.url.endswith(f"/shop/orders/{order.id}")
    assert (order.total_cents, order.status) == (9900, "placed")
    assert [(x.sku, x.qty) for x in order.lines.all()] == [("MUG", 2), ("TEE", 3)]
    assert Cart.objects.get().order == order


def test_bad_input_shows_the_error_and_writes_nothing(page, shop, screenshot):
    """Quantity 0 is refused without a cart; an unknown email places no order."""
    page.goto(shop)
    add(page, "MUG", "0")
    assert "Not added to the cart." in page.inner_text("[role=alert]")
    assert "greater than or equal to 1" in page.inner_text("[role=alert]")
    assert Cart.objects.count() == 0

    add(page, "MUG", "1")
    page.click("#cart-link")
    page.fill("#id_email", "nobody@example.com")
    page.click('button:has-text("Check out")')
    page.wait_for_load_state()
    assert "No customer is registered as nobody@example.com" in page.inner_text(
        "form .errorlist"
    )
    screenshot(page, "storefront-bad-email")
    assert Order.objects.count() == 0
    assert [(x.sku, x.qty) for x in CartLine.objects.all()] == [("MUG", 1)]
    assert Cart.objects.get().status == "open"
