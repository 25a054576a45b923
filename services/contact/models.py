"""Contact's own records: who customers are, and what was sent to them."""

from __future__ import annotations

from django.db import models


class Contact(models.Model):
    """Contact's view of a customer, learned from order.placed."""

    customer_id = models.CharField(primary_key=True, max_length=100)
    email = models.EmailField(max_length=254)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.customer_id} <{self.email}>"


class Notification(models.Model):
    """One message to a customer, caused by exactly one event."""

    class Kind(models.TextChoices):
        ORDER_CONFIRMED = "order_confirmed"
        ORDER_REJECTED = "order_rejected"
        SHIPMENT_DISPATCHED = "shipment_dispatched"
        SHIPMENT_DELIVERED = "shipment_delivered"

    kind = models.CharField(max_length=30, choices=Kind.choices, db_index=True)
    order_id = models.CharField(max_length=100, db_index=True)
    customer_id = models.CharField(max_length=100, db_index=True)
    email = models.CharField(max_length=254, blank=True, default="")  # "": unknown
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # Unique: a re-delivered or replayed event never notifies twice.
    cause_event_id = models.CharField(max_length=64, unique=True)
    cause_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # None: not (yet) sent

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.order_id}"
