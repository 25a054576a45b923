"""Contact's handlers: direct calls, and the real consumer runtime in-thread."""

from __future__ import annotations

import pytest
from django.core import mail

from eventbus import publish
from services.contact.handlers import (
    on_order_placed,
    on_shipment_delivered,
    on_shipment_dispatched,
    on_stock_rejected,
)
from services.contact.models import Contact, Notification
from tests.eventbus.consumer_helpers import running, wait_until
from tests.services.contact.events import delivered, dispatched, placed, rejected


@pytest.mark.django_db
def test_each_event_notifies_its_customer_once(django_capture_on_commit_callbacks):
    """Four milestones, four notifications and emails; re-deliveries add none."""
    events = [placed(), rejected(), dispatched(), delivered()]
    handlers = [
        on_order_placed,
        on_stock_rejected,
        on_shipment_dispatched,
        on_shipment_delivered,
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for handler, event in zip(handlers, events, strict=True):
            handler(event)
            handler(event)  # at-least-once delivery
    assert Contact.objects.get().email == "c-1@example.com"
    rows = list(Notification.objects.order_by("id"))
    assert [(r.kind, r.cause_event_id, r.cause_type) for r in rows] == [
        ("order_confirmed", events[0].id, "order.placed"),
        ("order_rejected", events[1].id, "stock.rejected"),
        ("shipment_dispatched", events[2].id, "shipment.dispatched"),
        ("shipment_delivered", events[3].id, "shipment.delivered"),
    ]
    assert len(mail.outbox) == 4
    assert all(m.to == ["c-1@example.com"] for m in mail.outbox)
    assert "MUG-1: you asked for 2, we have 1" in rows[1].body
    assert "UPS0123456789" in rows[2].body


@pytest.mark.django_db
def test_a_rejection_before_the_order_is_known_waits_for_the_address(
    django_capture_on_commit_callbacks,
):
    """stock.rejected overtaking order.placed is emailed when the address comes."""
    with django_capture_on_commit_callbacks(execute=True):
        on_stock_rejected(rejected())
        assert mail.outbox == []
        on_order_placed(placed())
    assert sorted(m.subject for m in mail.outbox) == [
        "We could not fulfil your order o-1",
        "Your order o-1 is confirmed",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("topics", "input_types")
def test_the_contact_group_notifies_from_all_three_topics():
    """The runtime delivers each topic's events to contact: one email each."""
    for topic, event in [
        ("orders", placed("o-1", "c-1")),
        ("orders", placed("o-2", "c-2")),
        ("stock", rejected("o-2", "c-2")),
        ("shipments", dispatched("o-1", "c-1")),
        ("shipments", delivered("o-1", "c-1")),
    ]:
        publish(topic, event.type, event.data, key=event.data["order_id"])
    with running("contact"):
        wait_until(lambda: len(mail.outbox) == 5, what="five emails", timeout=20)
    kinds = sorted(Notification.objects.values_list("order_id", "kind"))
    assert kinds == [
        ("o-1", "order_confirmed"),
        ("o-1", "shipment_delivered"),
        ("o-1", "shipment_dispatched"),
        ("o-2", "order_confirmed"),
        ("o-2", "order_rejected"),
    ]
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0
