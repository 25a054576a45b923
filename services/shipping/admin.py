"""Shipments in the admin: read-only, since only actions change them."""

from __future__ import annotations

from django.contrib import admin

from eventbus.admin import ReadOnlyAdmin
from services.shipping.models import Cancellation, Shipment


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
