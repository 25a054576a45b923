"""Contacts and notifications in the admin: read-only, actions write them."""

from __future__ import annotations

from django.contrib import admin

from eventbus.admin import ReadOnlyAdmin
from services.contact.models import Contact, Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "kind",
        "order_id",
        "customer_id",
        "email",
        "subject",
        "sent_at",
    )
    list_filter = ("kind", "cause_type")
    search_fields = ("order_id", "customer_id", "email", "cause_event_id")
    date_hierarchy = "created_at"


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "email", "updated_at")
    search_fields = ("customer_id", "email")
