"""The routes config/urls.py is to include, for tests until it does."""

from django.urls import include, path

from services.checkout.urls import api_urls, shop_urls

urlpatterns = [
    path("shop/", include((shop_urls, "checkout"))),
    path("api/v1/shop/", include((api_urls, "checkout-api"))),
]
