"""What contact consumes: one notification per order or shipment milestone."""

from __future__ import annotations

from eventbus.consumer import subscribe
from eventbus.envelope import Event
from services.contact.actions import contact_remember, notification_send


def _notify(kind: str, event: Event, **context: object) -> None:
    notification_send(
        kind=kind,
        order_id=event.data["order_id"],
        customer_id=event.data["customer_id"],
        cause_event_id=event.id,
        cause_type=event.type,
        context=context,
    )


@subscribe("orders", group="contact", types=["order.placed"])
def on_order_placed(event: Event) -> None:
    """Learn the customer's email and confirm the order."""
    data = event.data
    contact_remember(customer_id=data["customer_id"], email=data["customer_email"])
    _notify(
        "order_confirmed",
        event,
        lines=data["lines"],
        total_cents=data["total_cents"],
        currency=data["currency"],
    )


@subscribe("stock", group="contact", types=["stock.rejected"])
def on_stock_rejected(event: Event) -> None:
    """Tell the customer which SKUs were short."""
    _notify("order_rejected", event, short=event.data["short"])


@subscribe("shipments", group="contact", types=["shipment.dispatched"])
def on_shipment_dispatched(event: Event) -> None:
    """Give the customer the carrier and tracking number."""
    data = event.data
    _notify(
        "shipment_dispatched",
        event,
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
    )


@subscribe("shipments", group="contact", types=["shipment.delivered"])
def on_shipment_delivered(event: Event) -> None:
    """Tell the customer the parcel arrived."""
    _notify("shipment_delivered", event)
