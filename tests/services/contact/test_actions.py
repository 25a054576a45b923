"""Contact's actions: one notification per cause event, email only after commit."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.db import transaction

from services.contact.actions import contact_remember, notification_send
from services.contact.exceptions import InvalidNotification
from services.contact.models import Contact, Notification

pytestmark = pytest.mark.django_db


def send(cause: str = "ev-1", kind: str = "shipment_delivered", **context):
    return notification_send(
        kind=kind,
        order_id="o-1",
        customer_id="c-1",
        cause_event_id=cause,
        cause_type="shipment.delivered",
        context=context,
    )


@pytest.fixture
def known(db):
    contact_remember(customer_id="c-1", email="ann@example.com")


def test_remember_stores_and_updates_the_customer_email():
    """The latest order.placed address wins, one row per customer."""
    contact_remember(customer_id="c-1", email="old@example.com")
    contact_remember(customer_id="c-1", email="new@example.com")
    assert list(Contact.objects.values_list("customer_id", "email")) == [
        ("c-1", "new@example.com")
    ]


def test_remember_refuses_what_is_not_an_address():
    """A malformed email raises and stores nothing."""
    with pytest.raises(InvalidNotification, match="is not an address"):
        contact_remember(customer_id="c-1", email="nobody")
    assert not Contact.objects.exists()


@pytest.mark.usefixtures("known")
def test_send_writes_the_notification_and_emails_after_commit(
    django_capture_on_commit_callbacks,
):
    """The email leaves only when the transaction commits, then sent_at is set."""
    with django_capture_on_commit_callbacks() as callbacks:
        notification = send()
    assert mail.outbox == []
    row = Notification.objects.get()
    assert (row.kind, row.order_id, row.customer_id) == (
        "shipment_delivered",
        "o-1",
        "c-1",
    )
    assert (row.email, row.cause_event_id, row.cause_type) == (
        "ann@example.com",
        "ev-1",
        "shipment.delivered",
    )
    assert row.subject == "Your order o-1 was delivered"
    assert "was delivered" in row.body and row.sent_at is None
    for callback in callbacks:
        callback()
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    assert (message.subject, message.body) == (row.subject, row.body)
    notification.refresh_from_db()
    assert notification.sent_at is not None


@pytest.mark.usefixtures("known")
def test_a_rolled_back_send_emails_nothing(django_capture_on_commit_callbacks):
    """A batch that rolls back leaves neither a notification nor an email."""
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send()
        raise RuntimeError("the handler batch failed")
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.usefixtures("known")
def test_the_same_cause_event_notifies_once(django_capture_on_commit_callbacks):
    """A second call with the same cause event id is a no-op."""
    with django_capture_on_commit_callbacks(execute=True):
        first = send("ev-1")
        again = send("ev-1")
    assert again.pk == first.pk
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_unknown_email_is_stored_unsent_and_sent_when_learned(
    django_capture_on_commit_callbacks, caplog
):
    """Without an address the notice waits; contact_remember sends it once."""
    with (
        caplog.at_level(logging.WARNING),
        django_capture_on_commit_callbacks(execute=True),
    ):
        send()
    row = Notification.objects.get()
    assert row.email == "" and row.sent_at is None
    assert mail.outbox == []
    assert "No email known for customer c-1" in caplog.text

    with django_capture_on_commit_callbacks(execute=True):
        contact_remember(customer_id="c-1", email="ann@example.com")
        contact_remember(customer_id="c-1", email="ann@example.com")
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    row.refresh_from_db()
    assert row.email == "ann@example.com" and row.sent_at is not None


@pytest.mark.usefixtures("known")
def test_a_failing_mail_server_does_not_break_the_commit(
    django_capture_on_commit_callbacks, settings
):
    """A send error after commit is logged and leaves sent_at empty."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens
    settings.EMAIL_TIMEOUT = 1
    with django_capture_on_commit_callbacks(execute=True):
        send()
    assert Notification.objects.get().sent_at is None


@pytest.mark.usefixtures("known")
@pytest.mark.parametrize(
    ("kind", "context", "subject", "in_body"),
    [
        (
            "order_confirmed",
            {
                "lines": [{"sku": "MUG-1", "qty": 2, "unit_price_cents": 650}],
                "total_cents": 1300,
                "currency": "EUR",
            },
            "Your order o-1 is confirmed",
            ["2 x MUG-1", "Total: 13.00 EUR"],
        ),
        (
            "order_rejected",
            {"short": [{"sku": "MUG-1", "requested": 2, "available": 1}]},
            "We could not fulfil your order o-1",
            ["MUG-1: you asked for 2, we have 1"],
        ),
        (
            "shipment_dispatched",
            {"carrier": "UPS", "tracking_number": "UPS0123456789"},
            "Your order o-1 is on its way",
            ["with UPS", "Tracking number: UPS0123456789"],
        ),
    ],
)
def test_each_kind_renders_its_details(kind, context, subject, in_body):
    """Subjects name the order; bodies carry the kind's specifics."""
    row = send(kind=kind, **context)
    assert row.subject == subject
    for text in in_body:
        assert text in row.body


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "order_lost"}, "Unknown notification kind 'order_lost'"),
        ({"cause_event_id": ""}, "cause_event_id must be a non-empty string"),
        ({"order_id": None}, "order_id must be a non-empty string"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(kwargs, message):
    """Malformed notifications raise InvalidNotification and store nothing."""
    args = {
        "kind": "order_confirmed",
        "order_id": "o-1",
        "customer_id": "c-1",
        "cause_event_id": "ev-1",
        "cause_type": "order.placed",
        "context": {},
        **kwargs,
    }
    with pytest.raises(InvalidNotification, match=message):
        notification_send(**args)
    assert not Notification.objects.exists()
