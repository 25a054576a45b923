"""Checkout's routes: the storefront pages and the shop REST API.

config/urls.py includes both lists:
``path("shop/", include((shop_urls, "checkout")))`` and
``path("api/v1/shop/", include((api_urls, "checkout-api")))``.
"""

from __future__ import annotations

from django.urls import path

from services.checkout import api, cart_api, views

shop_urls = [
    path("", views.storefront, name="storefront"),
    path("cart", views.cart_detail, name="cart"),
    path("cart/add", views.add_to_cart, name="cart-add"),
    path("cart/update", views.update_cart, name="cart-update"),
    path("cart/remove", views.remove_from_cart, name="cart-remove"),
    path("cart/checkout", views.checkout, name="checkout"),
    path("orders/<str:order_id>", views.order_detail, name="order"),
    path("orders/<str:order_id>/cancel", views.cancel_order, name="cancel"),
]

api_urls = [
    path("orders", api.OrdersView.as_view(), name="orders"),
    path("orders/<str:order_id>", api.OrderView.as_view(), name="order"),
    path("orders/<str:order_id>/cancel", api.CancelOrderView.as_view(), name="cancel"),
    path("carts", cart_api.CartsView.as_view(), name="carts"),
    path("carts/<str:cart_id>", cart_api.CartView.as_view(), name="cart"),
    path("carts/<str:cart_id>/lines", cart_api.CartLinesView.as_view(), name="lines"),
    path(
        "carts/<str:cart_id>/lines/<str:sku>",
        cart_api.CartLineView.as_view(),
        name="line",
    ),
    path(
        "carts/<str:cart_id>/checkout",
        cart_api.CartCheckoutView.as_view(),
        name="checkout",
    ),
]
