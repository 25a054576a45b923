"""Keep each order's status in step with inventory and shipping (group checkout).

Thin adapters: each handler reads the order id (and what the storefront
shows) from the event and calls one action. The actions ignore updates that
would move an order backwards, so arrival order across topics does not
matter.
"""

from __future__ import annotations

from eventbus.consumer import subscribe
from eventbus.envelope import Event
from services.checkout.actions import (
    order_mark_cancelled,
    order_mark_delivered,
    order_mark_dispatched,
    order_mark_rejected,
    order_mark_reserved,
)

GROUP = "checkout"


@subscribe("stock", group=GROUP, types=["stock.reserved"])
def stock_reserved(event: Event) -> None:
    order_mark_reserved(order_id=event.data["order_id"])


@subscribe("stock", group=GROUP, types=["stock.rejected"])
def stock_rejected(event: Event) -> None:
    order_mark_rejected(
        order_id=event.data["order_id"], reason=event.data.get("reason", "")
    )


@subscribe("shipments", group=GROUP, types=["shipment.dispatched"])
def shipment_dispatched(event: Event) -> None:
    order_mark_dispatched(
        order_id=event.data["order_id"],
        carrier=event.data.get("carrier", ""),
        tracking_number=event.data.get("tracking_number", ""),
    )


@subscribe("shipments", group=GROUP, types=["shipment.delivered"])
def shipment_delivered(event: Event) -> None:
    order_mark_delivered(order_id=event.data["order_id"])


@subscribe("shipments", group=GROUP, types=["shipment.cancelled"])
def shipment_cancelled(event: Event) -> None:
    order_mark_cancelled(
        order_id=event.data["order_id"], reason=event.data.get("reason", "")
    )
