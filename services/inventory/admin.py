"""Admin: stock is read-only except through the restock action; so are reservations."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from eventbus.admin import ReadOnlyAdmin
from services.inventory.actions import stock_restock
from services.inventory.exceptions import InventoryError
from services.inventory.models import Reservation, StockItem

ADMIN_RESTOCK_QTY = 100


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdmin):
    list_display = (
        "sku",
        "available",
        "reserved",
        "shipped",
        "initial",
        "restocked",
        "updated_at",
    )
    search_fields = ("sku",)
    actions = ["restock_100"]

    @admin.action(
        description=f"Restock {ADMIN_RESTOCK_QTY} units", permissions=["restock"]
    )
    def restock_100(self, request: HttpRequest, queryset: QuerySet[StockItem]) -> None:
        skus = list(queryset.values_list("sku", flat=True))
        try:
            for sku in skus:
                stock_restock(sku=sku, qty=ADMIN_RESTOCK_QTY)
        except InventoryError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request, f"Restocked {ADMIN_RESTOCK_QTY} units of {len(skus)} SKU(s)."
        )

    def has_restock_permission(self, request: HttpRequest) -> bool:
        # Restocking changes stock, so it needs the change permission on
        # stock items that the read-only form itself never grants.
        return request.user.has_perm("inventory.change_stockitem")


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "customer_id", "status", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("order_id", "customer_id")
