"""Fixtures of the shipping tests: topic rows, input event types, the queue."""

from __future__ import annotations

import json
from base64 import b64decode
from dataclasses import dataclass
from datetime import datetime

import pytest

from eventbus import register_event_type
from eventbus.exceptions import UnknownEventType
from eventbus.schemas import get_event_type

# The inputs shipping consumes, as docs/retail.md defines them; registered
# only when their producing service's events.py has not done so already.
INPUT_TYPES = {
    ("stock", "stock.reserved"): ["order_id", "customer_id", "lines"],
    ("orders", "order.cancelled"): ["order_id", "customer_id", "reason"],
}


@pytest.fixture
def topics(make_topic):
    """Create the topics shipping reads and writes."""
    make_topic("shipments", partitions=8)
    make_topic("stock", partitions=8)
    make_topic("orders", partitions=8)


@pytest.fixture
def input_types() -> None:
    """Make the event types shipping consumes publishable in this test."""
    for (topic, type_), required in INPUT_TYPES.items():
        try:
            get_event_type(topic, type_)
        except UnknownEventType:
            register_event_type(
                type_, topic=topic, schema={"type": "object", "required": required}
            )


@dataclass
class QueuedTask:
    name: str
    args: list[object]
    eta: datetime | None


@pytest.fixture
def queued(bus):
    """Read the Celery tasks waiting in the shipping queue (CELERY_TASK_ROUTES)."""

    def read() -> list[QueuedTask]:
        tasks = []
        for raw in bus.lrange("shipping", 0, -1):
            message = json.loads(raw)
            headers = message["headers"]
            args, _kwargs, _embed = json.loads(b64decode(message["body"]))
            eta = headers.get("eta")
            tasks.append(
                QueuedTask(
                    headers["task"], args, datetime.fromisoformat(eta) if eta else None
                )
            )
        # LPUSH: the newest message is first.
        return tasks[::-1]

    return read
