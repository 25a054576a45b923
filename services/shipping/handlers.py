"""What shipping consumes: reservations create shipments, cancels cancel them."""

from __future__ import annotations

from eventbus.consumer import subscribe
from eventbus.envelope import Event
from services.shipping.actions import shipment_cancel, shipment_create


@subscribe("stock", group="shipping", types=["stock.reserved"])
def on_stock_reserved(event: Event) -> None:
    """Create the reserved order's shipment."""
    data = event.data
    shipment_create(
        order_id=data["order_id"],
        customer_id=data["customer_id"],
        lines=data["lines"],
    )


@subscribe("orders", group="shipping", types=["order.cancelled"])
def on_order_cancelled(event: Event) -> None:
    """Cancel the order's shipment if it has not left yet."""
    data = event.data
    shipment_cancel(
        order_id=data["order_id"],
        customer_id=data["customer_id"],
        reason=data["reason"],
    )
