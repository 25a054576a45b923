"""Stock levels per SKU and the reservation each placed order made."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class StockItem(models.Model):
    """One SKU's stock: available to sell, held for orders, and shipped."""

    sku = models.CharField(max_length=64, primary_key=True)
    available = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    shipped = models.PositiveIntegerField(default=0)
    # The invariant of docs/retail.md: available + reserved + shipped equals
    # initial + restocked, at every commit (the constraint below checks it).
    initial = models.PositiveIntegerField(default=0)
    restocked = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            # PositiveIntegerField checks >= 0 only on some backends; say it
            # once for all of them.
            models.CheckConstraint(
                condition=Q(available__gte=0)
                & Q(reserved__gte=0)
                & Q(shipped__gte=0)
                & Q(initial__gte=0)
                & Q(restocked__gte=0),
                name="inventory_stockitem_counts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    available=F("initial")
                    + F("restocked")
                    - F("reserved")
                    - F("shipped")
                ),
                name="inventory_stockitem_units_conserved",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.sku}: {self.available} available, {self.reserved} reserved, "
            f"{self.shipped} shipped"
        )


class Reservation(models.Model):
    """What inventory decided for one order, and where its stock is now."""

    class Status(models.TextChoices):
        HELD = "held"
        RELEASED = "released"
        SHIPPED = "shipped"
        # Recorded so that a repeated or replayed order.placed gets the same
        # answer, even after restocking would let it through now.
        REJECTED = "rejected"

    order_id = models.CharField(max_length=64, unique=True)
    customer_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    lines = models.JSONField(help_text="[{sku, qty}] the order asked for.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="inventory_res_status")]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.status}"
