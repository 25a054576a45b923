"""What analytics consumes: every event of every retail topic.

Each event is staged for the lake and, if it is an order, a cancel or a
stock rejection, also counted in the stream windows. One handler per topic
and group (the runtime allows no more), so it dispatches by type.

``idempotent=False``: staging is unique by event id and skips what the
partition's lake cursor covers, and the windows skip orders ``SeenOrder``
already counted, so the handler is idempotent by itself and needs no
ProcessedEvent record (which would also stop a group reset from re-feeding
the lake after a lost day).
"""

from __future__ import annotations

from collections.abc import Callable

from eventbus.consumer import subscribe
from eventbus.envelope import Event
from services.analytics.actions import event_stage
from services.analytics.windows import (
    window_record_cancel,
    window_record_order,
    window_record_stock_out,
)

GROUP = "analytics"
TOPICS = ("orders", "stock", "shipments")


def record_order(event: Event) -> None:
    """Count an order.placed in the windows, by its placed_at."""
    data = event.data
    window_record_order(
        order_id=data["order_id"],
        placed_at=data["placed_at"],
        lines=data["lines"],
        total_cents=data["total_cents"],
    )


def record_cancel(event: Event) -> None:
    """Count an order.cancelled in the windows, by the event's time."""
    window_record_cancel(order_id=event.data["order_id"], at=event.time)


def record_stock_out(event: Event) -> None:
    """Count a stock.rejected as a stock-out, by the event's time."""
    window_record_stock_out(order_id=event.data["order_id"], at=event.time)


WINDOWED: dict[str, Callable[[Event], None]] = {
    "order.placed": record_order,
    "order.cancelled": record_cancel,
    "stock.rejected": record_stock_out,
}


def on_event(event: Event) -> None:
    """Stage the event for the lake and count it in the windows if it is one."""
    event_stage(event=event)
    windowed = WINDOWED.get(event.type)
    if windowed is not None:
        windowed(event)


for _topic in TOPICS:
    subscribe(_topic, group=GROUP, idempotent=False)(on_event)
