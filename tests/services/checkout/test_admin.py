"""Admin pages of checkout render; orders cannot be added or edited there."""

from __future__ import annotations

import pytest

from services.checkout.actions import order_place

pytestmark = pytest.mark.usefixtures("catalogue")


def test_the_admin_lists_and_shows_orders_with_their_lines(admin_client, customer):
    order = order_place(customer=customer, lines=[("MUG", 2)])
    listing = admin_client.get("/admin/checkout/order/")
    assert listing.status_code == 200
    assert order.id in listing.content.decode()
    page = admin_client.get(f"/admin/checkout/order/{order.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "MUG" in html
    assert 'name="status"' not in html  # read-only: no input for it
    assert admin_client.get("/admin/checkout/order/add/").status_code == 403


@pytest.mark.parametrize("model", ["customer", "product"])
def test_the_customer_and_product_lists_render(admin_client, customer, model):
    assert admin_client.get(f"/admin/checkout/{model}/").status_code == 200


def test_the_admin_shows_carts_read_only_with_their_lines(admin_client, customer):
    """A cart's page lists its lines; carts cannot be added or edited there."""
    from services.checkout.carts import cart_add, cart_open

    cart = cart_open()
    cart_add(cart=cart, sku="TEE", qty=3)
    listing = admin_client.get("/admin/checkout/cart/")
    assert listing.status_code == 200
    assert cart.id in listing.content.decode()
    page = admin_client.get(f"/admin/checkout/cart/{cart.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "TEE" in html
    assert 'name="status"' not in html and 'name="lines-0-qty"' not in html
    assert admin_client.get("/admin/checkout/cart/add/").status_code == 403
