"""Fixtures for checkout: its topics, the input event types, a small catalogue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventbus import get_event_type, register_event_type
from eventbus.envelope import Event, new_event_id, now_rfc3339
from eventbus.exceptions import UnknownEventType
from services.checkout.actions import customer_register, product_upsert
from services.checkout.models import Customer

_STR: dict[str, Any] = {"type": "string"}
_SKU_QTY = {
    "type": "object",
    "required": ["sku", "qty"],
    "properties": {"sku": _STR, "qty": {"type": "integer", "minimum": 1}},
}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


# The contract's schemas of the types checkout consumes (docs/retail.md and
# the services brief), for when inventory or shipping has not declared them.
INPUT_TYPES: dict[tuple[str, str], dict[str, Any]] = {
    ("stock", "stock.reserved"): _obj(
        ["order_id", "customer_id", "lines"],
        order_id=_STR,
        customer_id=_STR,
        lines={"type": "array", "items": _SKU_QTY},
    ),
    ("stock", "stock.rejected"): _obj(
        ["order_id", "customer_id", "reason", "short"],
        order_id=_STR,
        customer_id=_STR,
        reason=_STR,
        short={
            "type": "array",
            "items": _obj(
                ["sku", "requested", "available"],
                sku=_STR,
                requested={"type": "integer"},
                available={"type": "integer"},
            ),
        },
    ),
    ("shipments", "shipment.created"): _obj(
        ["shipment_id", "order_id", "customer_id", "lines"],
        shipment_id=_STR,
        order_id=_STR,
        customer_id=_STR,
        lines={"type": "array", "items": _SKU_QTY},
    ),
    ("shipments", "shipment.dispatched"): _obj(
        ["shipment_id", "order_id", "customer_id", "carrier", "tracking_number"],
        shipment_id=_STR,
        order_id=_STR,
        customer_id=_STR,
        carrier=_STR,
        tracking_number=_STR,
    ),
    ("shipments", "shipment.delivered"): _obj(
        ["shipment_id", "order_id", "customer_id"],
        shipment_id=_STR,
        order_id=_STR,
        customer_id=_STR,
    ),
    ("shipments", "shipment.cancelled"): _obj(
        ["order_id", "customer_id", "reason"],
        order_id=_STR,
        customer_id=_STR,
        reason=_STR,
        shipment_id=_STR,
    ),
}


@pytest.fixture(autouse=True)
def input_types() -> None:
    """Register the consumed types unless their producer's events.py did."""
    for (topic, type_name), schema in INPUT_TYPES.items():
        try:
            get_event_type(topic, type_name)
        except UnknownEventType:
            register_event_type(type_name, topic=topic, schema=schema)


@pytest.fixture
def topics(make_topic) -> None:
    """The topic rows checkout publishes to and consumes from."""
    for name in ("orders", "stock", "shipments"):
        make_topic(name, partitions=8)


@pytest.fixture
def customer(topics) -> Customer:
    return customer_register(email="Ada@Example.com", name="Ada Lovelace")


@pytest.fixture
def catalogue(topics) -> None:
    product_upsert(sku="MUG", name="Mug", price_cents=1200)
    product_upsert(sku="TEE", name="T-shirt", price_cents=2500)
    product_upsert(sku="OLD", name="Discontinued", price_cents=999, active=False)


@pytest.fixture
def event() -> Callable[..., Event]:
    """Build the envelope a handler receives; its data must match the contract."""

    def build(type_name: str, **data: Any) -> Event:
        topic = {"stock": "stock", "shipment": "shipments"}[type_name.split(".")[0]]
        get_event_type(topic, type_name).validate(data)  # keep tests on contract
        return Event(
            id=new_event_id(),
            source="/test",
            type=type_name,
            time=now_rfc3339(),
            data=data,
        )

    return build
