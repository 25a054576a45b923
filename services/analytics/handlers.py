"""What analytics consumes: every event of every retail topic, into the lake.

``idempotent=False``: staging is unique by event id and skips what the
partition's lake cursor covers, so the handler is idempotent by itself and
needs no ProcessedEvent record (which would also stop a group reset from
re-feeding the lake after a lost day).
"""

from __future__ import annotations

from eventbus.consumer import subscribe
from eventbus.envelope import Event
from services.analytics.actions import event_stage

GROUP = "analytics"
TOPICS = ("orders", "stock", "shipments")


def on_event(event: Event) -> None:
    """Stage the event for the lake."""
    event_stage(event=event)


for _topic in TOPICS:
    subscribe(_topic, group=GROUP, idempotent=False)(on_event)
