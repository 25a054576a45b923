"""Checkout's routes: the storefront pages and the shop REST API.

config/urls.py includes both lists:
``path("shop/", include((shop_urls, "checkout")))`` and
``path("api/v1/shop/", include((api_urls, "checkout-api")))``.
"""

from __future__ import annotations

from django.urls import path

from services.checkout import api, views

shop_urls = [
    path("", views.storefront, name="storefront"),
    path("order", views.place_order, name="place"),
    path("orders/<str:order_id>", views.order_detail, name="order"),
    path("orders/<str:order_id>/cancel", views.cancel_order, name="cancel"),
]

api_urls = [
    path("orders", api.OrdersView.as_view(), name="orders"),
    path("orders/<str:order_id>", api.OrderView.as_view(), name="order"),
    path("orders/<str:order_id>/cancel", api.CancelOrderView.as_view(), name="cancel"),
]
