"""Shipments in the admin: read-only, since only actions change them."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from services.shipping.models import Cancellation, Shipment


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order_id",
        "customer_id",
        "status",
        "carrier",
        "tracking_number",
        "created_at",
        "dispatched_at",
        "delivered_at",
    )
    list_filter = ("status", "carrier")
    search_fields = ("id", "order_id", "customer_id", "tracking_number")
    date_hierarchy = "created_at"


@admin.register(Cancellation)
class CancellationAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "customer_id", "reason", "created_at")
    search_fields = ("order_id", "customer_id")
