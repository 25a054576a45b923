"""Shipping's own records: shipments, and cancellations that came first."""

from __future__ import annotations

from django.db import models


class Shipment(models.Model):
    """One order's parcel, from reservation to delivery (or cancellation)."""

    class Status(models.TextChoices):
        CREATED = "created"
        DISPATCHED = "dispatched"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"

    id = models.CharField(primary_key=True, max_length=40)
    order_id = models.CharField(max_length=100, unique=True)
    customer_id = models.CharField(max_length=100)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.CREATED, db_index=True
    )
    lines = models.JSONField(default=list)  # [{"sku": str, "qty": int}]
    carrier = models.CharField(max_length=50, blank=True, default="")
    tracking_number = models.CharField(max_length=50, blank=True, default="")
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.order_id}, {self.status})"


class Cancellation(models.Model):
    """An order cancelled before its reservation reached shipping (the race).

    When ``stock.reserved`` arrives later, the shipment is created cancelled
    and ``shipment.cancelled`` published, so inventory releases the stock.
    """

    order_id = models.CharField(max_length=100, unique=True)
    customer_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"cancellation of {self.order_id}"
