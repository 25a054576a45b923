"""Fixtures of the contact tests: topic rows and the event types it consumes."""

from __future__ import annotations

import pytest

from eventbus import register_event_type
from eventbus.exceptions import UnknownEventType
from eventbus.schemas import get_event_type

# Inputs from other services, registered (loosely) only when their own
# events.py has not done so, so the runtime test can publish them.
INPUT_TYPES = {
    ("orders", "order.placed"): ["order_id", "customer_id", "customer_email"],
    ("stock", "stock.rejected"): ["order_id", "customer_id", "short"],
}


@pytest.fixture
def topics(make_topic):
    """Create the topics contact reads."""
    for name in ("orders", "stock", "shipments"):
        make_topic(name, partitions=8)


@pytest.fixture
def input_types() -> None:
    """Make the event types contact consumes publishable in this test."""
    for (topic, type_), required in INPUT_TYPES.items():
        try:
            get_event_type(topic, type_)
        except UnknownEventType:
            register_event_type(
                type_, topic=topic, schema={"type": "object", "required": required}
            )
