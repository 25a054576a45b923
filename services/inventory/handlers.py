"""What inventory consumes (group "inventory"): thin adapters over its actions.

Per docs/retail.md inventory releases stock on ``shipment.cancelled`` only,
never on ``order.cancelled``: shipping decides whether a cancellation beat
the dispatch, so releasing earlier could release stock that already left.
"""

from __future__ import annotations

from eventbus import Event
from eventbus.consumer import subscribe
from services.inventory.actions import stock_release, stock_reserve, stock_ship

GROUP = "inventory"


@subscribe("orders", group=GROUP, types=["order.placed"])
def reserve_order(event: Event) -> None:
    """Reserve the placed order's lines (all or none)."""
    data = event.data
    stock_reserve(
        order_id=data["order_id"],
        customer_id=data["customer_id"],
        lines=[{"sku": line["sku"], "qty": line["qty"]} for line in data["lines"]],
    )


@subscribe("shipments", group=GROUP, types=["shipment.dispatched"])
def ship_order(event: Event) -> None:
    """Move the dispatched order's units from reserved to shipped."""
    stock_ship(order_id=event.data["order_id"])


@subscribe("shipments", group=GROUP, types=["shipment.cancelled"])
def release_order(event: Event) -> None:
    """Return the cancelled shipment's units to available stock."""
    data = event.data
    stock_release(order_id=data["order_id"], reason=data["reason"])
