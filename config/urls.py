from django.contrib import admin
from django.urls import include, path

from console.views.asyncapi import asyncapi_json
from eventbus.views import metrics
from services.checkout.urls import api_urls, shop_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    path("shop/", include((shop_urls, "checkout"))),
    path("api/v1/shop/", include((api_urls, "checkout-api"))),
    path("api/asyncapi.json", asyncapi_json, name="asyncapi"),
    path("api/", include("console.api.urls")),
    path("", include("console.urls")),
]
