"""Contact's actions: the only code that writes contacts and notifications.

Emails go out in ``transaction.on_commit``: a rolled-back handler batch (the
runtime retries it event by event) sends nothing, and its re-run sends once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from services.contact.exceptions import InvalidNotification
from services.contact.models import Contact, Notification

logger = logging.getLogger("services.contact")

Kind = Notification.Kind


def contact_remember(*, customer_id: str, email: str) -> Contact:
    """Store the customer's latest email; send notifications that lacked it."""
    _require(customer_id=customer_id)
    if not isinstance(email, str) or "@" not in email:
        raise InvalidNotification(
            f"Email {email!r} of customer {customer_id!r} is not an address; "
            "pass the order.placed event's customer_email."
        )
    with transaction.atomic():
        contact, _ = Contact.objects.update_or_create(
            customer_id=customer_id, defaults={"email": email}
        )
        # Notifications stored while the address was unknown (their event
        # overtook order.placed) go out now that it is known.
        waiting = Notification.objects.select_for_update().filter(
            customer_id=customer_id, email="", sent_at__isnull=True
        )
        for notification in waiting:
            notification.email = email
            notification.save(update_fields=["email"])
            _send_on_commit(notification)
    return contact


def notification_send(
    *,
    kind: str,
    order_id: str,
    customer_id: str,
    cause_event_id: str,
    cause_type: str,
    context: dict[str, Any],
) -> Notification:
    """Record and (after commit) email one notification per causing event.

    A second call with the same ``cause_event_id`` returns the first
    notification and sends nothing. A customer whose email is unknown gets
    the notification stored with email "" and sent once ``contact_remember``
    learns the address.
    """
    if kind not in Kind.values:
        raise InvalidNotification(
            f"Unknown notification kind {kind!r}; use one of {', '.join(Kind.values)}."
        )
    _require(
        order_id=order_id,
        customer_id=customer_id,
        cause_event_id=cause_event_id,
        cause_type=cause_type,
    )
    with transaction.atomic():
        existing = Notification.objects.filter(cause_event_id=cause_event_id).first()
        if existing is not None:
            logger.info("Event %s was already notified", cause_event_id)
            return existing
        contact = Contact.objects.filter(customer_id=customer_id).first()
        email = contact.email if contact else ""
        if not email:
            # Failing would retry in place and then dead-letter: the address
            # comes from order.placed on another topic, which nothing orders
            # before this event, and may arrive much later (a lagging or
            # reset group). Keep the message; contact_remember sends it.
            logger.warning(
                "No email known for customer %s; %s for order %s is stored "
                "unsent until order.placed tells the address",
                customer_id,
                kind,
                order_id,
            )
        subject, body = _render(
            kind,
            {**context, "order_id": order_id, "customer_id": customer_id},
        )
        notification = Notification.objects.create(
            kind=kind,
            order_id=order_id,
            customer_id=customer_id,
            email=email,
            subject=subject,
            body=body,
            cause_event_id=cause_event_id,
            cause_type=cause_type,
        )
        if email:
            _send_on_commit(notification)
    return notification


def _render(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """Return the subject (the template's first line) and the body."""
    if isinstance(context.get("total_cents"), int):
        context["total"] = f"{context['total_cents'] / 100:.2f}"
    text = render_to_string(f"contact/{kind}.txt", context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip()[:200], body.strip() + "\n"


def _send_on_commit(notification: Notification) -> None:
    # robust: a mail server that fails must not raise into the commit of the
    # consumer's batch; sent_at stays empty so the failure is visible.
    pk = notification.pk

    def send_after_commit() -> None:
        _send(pk)

    transaction.on_commit(send_after_commit, robust=True)


def _send(pk: int) -> None:
    notification = Notification.objects.get(pk=pk)
    if notification.sent_at is not None or not notification.email:
        return
    send_mail(
        notification.subject,
        notification.body,
        None,  # DEFAULT_FROM_EMAIL
        [notification.email],
    )
    Notification.objects.filter(pk=pk).update(sent_at=timezone.now())


def _require(**values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise InvalidNotification(
                f"{name} must be a non-empty string, not {value!r}; pass it "
                "from the causing event."
            )
