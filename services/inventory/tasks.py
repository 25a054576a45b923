"""Periodic inventory work for Celery beat: thin adapters over actions."""

from __future__ import annotations

from celery import shared_task

from services.inventory.actions import stock_restock_low

# Keeps the demo's shelves from emptying: SKUs under LOW_BELOW go back to
# RESTOCK_TO. Small enough that rejections still happen under load.
LOW_BELOW = 5
RESTOCK_TO = 50


@shared_task(name="inventory.restock_low", ignore_result=True)
def restock_low(below: int = LOW_BELOW, to: int = RESTOCK_TO) -> int:
    """Restock every SKU with fewer than ``below`` available up to ``to``."""
    return stock_restock_low(below=below, to=to)
