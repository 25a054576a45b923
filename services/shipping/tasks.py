"""Celery tasks of the carrier simulation: thin adapters over the actions."""

from __future__ import annotations

from celery import shared_task

from services.shipping.actions import shipment_deliver, shipment_dispatch


@shared_task(name="shipping.dispatch", ignore_result=True)
def dispatch(shipment_id: str) -> str:
    """Dispatch the shipment; return its status afterwards."""
    return str(shipment_dispatch(shipment_id=shipment_id).status)


@shared_task(name="shipping.deliver", ignore_result=True)
def deliver(shipment_id: str) -> str:
    """Deliver the shipment; return its status afterwards."""
    return str(shipment_deliver(shipment_id=shipment_id).status)
