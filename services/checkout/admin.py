"""Admin for checkout: customers, products, carts and orders with their lines."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from services.checkout.models import (
    Cart,
    CartLine,
    Customer,
    Order,
    OrderLine,
    Product,
)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "email", "created_at"]
    search_fields = ["id", "name", "email"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "price_cents", "active"]
    list_filter = ["active"]
    search_fields = ["sku", "name"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["sku", "qty", "unit_price_cents"]
    readonly_fields = ["sku", "qty", "unit_price_cents"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read-only here: only the actions place, cancel or move them.

    Editing a status in admin would publish nothing and let checkout disagree
    with inventory and shipping.
    """

    list_display = ["id", "customer", "status", "total_cents", "currency", "placed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["id", "customer__id", "customer__email"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline]
    readonly_fields = [
        "id",
        "customer",
        "status",
        "status_reason",
        "carrier",
        "tracking_number",
        "total_cents",
        "currency",
        "placed_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class CartLineInline(admin.TabularInline):
    model = CartLine
    fields = ["sku", "qty"]
    readonly_fields = ["sku", "qty"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    """Carts are read-only here: only the cart actions change or check them out."""

    list_display = ["id", "status", "customer", "order", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["id", "customer__id", "customer__email", "order__id"]
    date_hierarchy = "created_at"
    inlines = [CartLineInline]
    readonly_fields = ["id", "status", "customer", "order", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
